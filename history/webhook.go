package history

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// WebhookConfig declares the webhook.
type WebhookConfig struct {
	// URL is POSTed a JSON WebhookEvent per new complete result (required,
	// http or https).
	URL string
	// Store keeps the events not yet delivered, with their retry state, so
	// that they survive a restart (required).
	Store *Store
	// Timeout bounds one attempt; 0 means 5 s.
	Timeout time.Duration
	// Attempts is how many times an event is tried; 0 means 12.
	Attempts int
	// Backoff is the wait after the first failed attempt, doubled after
	// each up to MaxBackoff; 0 means 1 s and 10 min (12 tries span about
	// 27 minutes).
	Backoff, MaxBackoff time.Duration
	// Queue is how many events may wait; past it new ones are dropped and
	// logged (a request never waits for the webhook); 0 means 10000.
	Queue int
	// Logger receives failures; nil discards.
	Logger *slog.Logger
}

// WebhookEvent is what the webhook receives.
type WebhookEvent struct {
	// Event is "result.complete".
	Event string `json:"event"`
	// URL opens the result in the console.
	URL string `json:"url"`
	// Record is the stored result with its indexed columns; its id names
	// the event too (a receiver that sees an id twice, after a crash
	// between its answer and our record of it, can drop the second).
	Record
}

// DeliveryHeader carries the event's id (the result's) on each attempt.
const DeliveryHeader = "X-Rtclab-Delivery"

// Webhook tells a URL of new complete results, from one goroutine, with a
// timeout and bounded retries. Its queue is a table of the history
// (webhook_queue): an event is stored before Notify returns and deleted
// once delivered or given up, so serve can stop at any time and the next
// start sends what was left, with the retry state it had.
type Webhook struct {
	cfg     WebhookConfig
	store   *Store
	client  *http.Client
	log     *slog.Logger
	wake    chan struct{}
	closing chan struct{}
	wg      sync.WaitGroup
	once    sync.Once
	cancel  context.CancelFunc // ends the sender's context
	now     func() time.Time
}

// NewWebhook checks cfg and starts the sender, which first sends what an
// earlier run left queued; Close stops it.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: --webhook %q: want an http:// or https:// URL", ErrAPIConfig, cfg.URL)
	}
	if cfg.Store == nil {
		return nil, fmt.Errorf("%w: the webhook needs a history (Store) for its queue", ErrAPIConfig)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 12
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 10 * time.Minute
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 10000
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &Webhook{cfg: cfg, store: cfg.Store, client: &http.Client{Timeout: cfg.Timeout}, log: log,
		wake: make(chan struct{}, 1), closing: make(chan struct{}), cancel: cancel, now: time.Now}
	h.wg.Add(1)
	go h.run(ctx)
	return h, nil
}

// Notify queues ev (in the history) without waiting for the receiver; a
// nil Webhook does nothing.
func (h *Webhook) Notify(ev WebhookEvent) {
	if h == nil {
		return
	}
	body, err := json.Marshal(ev)
	if err == nil {
		err = h.store.enqueue(context.Background(), ev.ID, body, h.now(), h.cfg.Queue)
	}
	if err != nil {
		h.log.Warn("history: webhook event dropped", "id", ev.ID, "err", err)
		return
	}
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// Close sends what is due (each event still bounded by its attempts)
// unless ctx ends first, then stops. What is not delivered stays queued
// for the next start.
func (h *Webhook) Close(ctx context.Context) {
	if h == nil {
		return
	}
	h.once.Do(func() { close(h.closing) })
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		h.cancel()
		<-done
	}
	h.cancel()
}

// lease is how long a sender holds an event it is trying (other servers
// sharing a PostgreSQL history leave it alone meanwhile).
func (h *Webhook) lease() time.Duration { return h.cfg.Timeout + 5*time.Second }

func (h *Webhook) run(ctx context.Context) {
	defer h.wg.Done()
	for {
		ev, err := h.store.nextEvent(ctx)
		wait := time.Duration(0)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				h.log.Warn("history: webhook queue", "err", err)
			}
			wait = h.cfg.Backoff
		case ev == nil:
			wait = -1 // until woken
		case ev.nextAt.After(h.now()):
			wait = ev.nextAt.Sub(h.now())
		}
		if wait != 0 {
			if !h.sleep(ctx, wait) {
				return
			}
			continue
		}
		ok, err := h.store.claim(ctx, ev, h.now().Add(h.lease()))
		if err != nil && ctx.Err() == nil {
			h.log.Warn("history: webhook queue", "err", err)
			if !h.sleep(ctx, h.cfg.Backoff) {
				return
			}
		}
		if ok {
			h.deliver(ctx, ev)
		} // else another server took it
	}
}

// sleep waits d, or with d negative (nothing queued) until woken; false
// when the sender should stop: its context ended, or Close was called
// with nothing queued. Once closing, an event due later is still waited
// for: Close sends what it can until its own context ends.
func (h *Webhook) sleep(ctx context.Context, d time.Duration) bool {
	if d < 0 {
		select {
		case <-h.wake:
			return true
		case <-h.closing:
			return false
		case <-ctx.Done():
			return false
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-h.wake:
		return true
	case <-ctx.Done():
		return false
	}
}

// deliver tries ev once and records the outcome: delivered or given up
// (deleted), or due again after its backoff. A 4xx other than 408 and 429
// is final (retrying the same body cannot help).
func (h *Webhook) deliver(ctx context.Context, ev *queued) {
	retry, err := h.post(ctx, ev)
	attempts := ev.attempts + 1
	// The outcome is recorded even when Close cut the attempt short.
	rec := context.WithoutCancel(ctx)
	switch {
	case err == nil:
		err = h.store.dequeue(rec, ev.id)
		if err != nil {
			h.log.Warn("history: webhook delivered, not dequeued", "id", ev.id, "err", err)
		}
		return
	case ctx.Err() != nil:
		// Stopped mid-attempt: due again at the next start, not counted.
		err = h.store.reschedule(rec, ev.id, ev.attempts, h.now())
	case !retry || attempts >= h.cfg.Attempts:
		h.log.Warn("history: webhook failed, event dropped", "id", ev.id, "url", h.cfg.URL,
			"err", fmt.Errorf("attempt %d of %d: %w", attempts, h.cfg.Attempts, err))
		err = h.store.dequeue(rec, ev.id)
	default:
		h.log.Info("history: webhook failed, will retry", "id", ev.id, "attempt", attempts, "err", err)
		err = h.store.reschedule(rec, ev.id, attempts, h.now().Add(h.backoff(attempts)))
	}
	if err != nil {
		h.log.Warn("history: webhook queue", "id", ev.id, "err", err)
	}
}

// backoff is the wait after the n-th failed attempt: Backoff doubled n-1
// times, at most MaxBackoff.
func (h *Webhook) backoff(n int) time.Duration {
	d := h.cfg.Backoff
	for i := 1; i < n && d < h.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, h.cfg.MaxBackoff)
}

func (h *Webhook) post(ctx context.Context, ev *queued) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.cfg.URL, bytes.NewReader(ev.body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "rtclab-history-webhook")
	req.Header.Set(DeliveryHeader, ev.id)
	resp, err := h.client.Do(req)
	if err != nil {
		return true, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	switch {
	case resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return true, fmt.Errorf("%s", resp.Status)
	default:
		return false, fmt.Errorf("%s (not retried)", resp.Status)
	}
}

// queued is one event in webhook_queue.
type queued struct {
	id       string
	body     []byte
	attempts int
	nextAt   time.Time
}

// errQueueFull: the webhook's queue holds WebhookConfig.Queue events.
var errQueueFull = errors.New("history: webhook queue full")

func (s *Store) enqueue(ctx context.Context, id string, body []byte, now time.Time, limit int) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("history: webhook queue: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM webhook_queue`).Scan(&n); err != nil {
		return fmt.Errorf("history: webhook queue: %w", err)
	}
	if n >= limit {
		return fmt.Errorf("%w (%d events)", errQueueFull, n)
	}
	if _, err := tx.ExecContext(ctx, s.bind(`INSERT INTO webhook_queue(id, body, created, attempts, next_at) VALUES (?, ?, ?, 0, ?)`),
		id, string(body), ms(now), ms(now)); err != nil {
		return fmt.Errorf("history: webhook queue: %w", err)
	}
	return tx.Commit()
}

// nextEvent is the event due first, nil when the queue is empty.
func (s *Store) nextEvent(ctx context.Context) (*queued, error) {
	var ev queued
	var body string
	var next int64
	err := s.db.QueryRowContext(ctx, `SELECT id, body, attempts, next_at FROM webhook_queue ORDER BY next_at, created, id LIMIT 1`).
		Scan(&ev.id, &body, &ev.attempts, &next)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("history: webhook queue: %w", err)
	}
	ev.body, ev.nextAt = []byte(body), fromMS(next)
	return &ev, nil
}

// claim takes ev for one attempt, until the lease ends, if nobody changed
// it since it was read.
func (s *Store) claim(ctx context.Context, ev *queued, until time.Time) (bool, error) {
	r, err := s.db.ExecContext(ctx, s.bind(`UPDATE webhook_queue SET next_at = ? WHERE id = ? AND next_at = ? AND attempts = ?`),
		ms(until), ev.id, ms(ev.nextAt), ev.attempts)
	if err != nil {
		return false, fmt.Errorf("history: webhook queue: %w", err)
	}
	n, err := r.RowsAffected()
	return n == 1, err
}

func (s *Store) dequeue(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, s.bind(`DELETE FROM webhook_queue WHERE id = ?`), id)
	return err
}

func (s *Store) reschedule(ctx context.Context, id string, attempts int, at time.Time) error {
	_, err := s.db.ExecContext(ctx, s.bind(`UPDATE webhook_queue SET attempts = ?, next_at = ? WHERE id = ?`), attempts, ms(at), id)
	return err
}

// QueuedEvents is how many webhook events wait in the history.
func (s *Store) QueuedEvents(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM webhook_queue`).Scan(&n); err != nil {
		return 0, fmt.Errorf("history: webhook queue: %w", err)
	}
	return n, nil
}
