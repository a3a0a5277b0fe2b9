package history

import (
	"bytes"
	"context"
	"encoding/json"
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
	// Timeout bounds one attempt; 0 means 5 s.
	Timeout time.Duration
	// Attempts is how many times an event is tried; 0 means 3.
	Attempts int
	// Backoff is the wait after the first failed attempt, doubled after
	// each; 0 means 1 s.
	Backoff time.Duration
	// Queue is how many events may wait; past it new ones are dropped and
	// logged (a request never waits for the webhook); 0 means 100.
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
	// Record is the stored result with its indexed columns.
	Record
}

// Webhook tells a URL of new complete results, from one goroutine, with a
// timeout and bounded retries.
type Webhook struct {
	cfg    WebhookConfig
	client *http.Client
	queue  chan WebhookEvent
	log    *slog.Logger
	wg     sync.WaitGroup
	once   sync.Once
	cancel context.CancelFunc // ends the sender's context
}

// NewWebhook checks cfg and starts the sender; Close stops it.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: --webhook %q: want an http:// or https:// URL", ErrAPIConfig, cfg.URL)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 3
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = time.Second
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 100
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &Webhook{cfg: cfg, client: &http.Client{Timeout: cfg.Timeout}, queue: make(chan WebhookEvent, cfg.Queue), log: log, cancel: cancel}
	h.wg.Add(1)
	go h.run(ctx)
	return h, nil
}

// Notify queues ev without waiting; a nil Webhook does nothing.
func (h *Webhook) Notify(ev WebhookEvent) {
	if h == nil {
		return
	}
	select {
	case h.queue <- ev:
	default:
		h.log.Warn("history: webhook queue full, event dropped", "id", ev.ID)
	}
}

// Close sends what is queued (each event still bounded by its attempts)
// unless ctx ends first, then stops.
func (h *Webhook) Close(ctx context.Context) {
	if h == nil {
		return
	}
	h.once.Do(func() { close(h.queue) })
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

func (h *Webhook) run(ctx context.Context) {
	defer h.wg.Done()
	for ev := range h.queue {
		if err := h.send(ctx, ev); err != nil {
			h.log.Warn("history: webhook failed", "id", ev.ID, "url", h.cfg.URL, "err", err)
		}
	}
}

// send tries one event up to Attempts times; a 4xx other than 408 and 429
// is final (retrying the same body cannot help).
func (h *Webhook) send(ctx context.Context, ev WebhookEvent) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	wait := h.cfg.Backoff
	var last error
	for attempt := 1; attempt <= h.cfg.Attempts; attempt++ {
		retry, err := h.post(ctx, body)
		if err == nil {
			return nil
		}
		last = fmt.Errorf("attempt %d of %d: %w", attempt, h.cfg.Attempts, err)
		if !retry || attempt == h.cfg.Attempts {
			break
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return last
		}
		wait *= 2
	}
	return last
}

func (h *Webhook) post(ctx context.Context, body []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "rtclab-history-webhook")
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
