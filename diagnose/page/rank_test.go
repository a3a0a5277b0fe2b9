package page_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/rtclab/rtclab/diagnose"
	"github.com/rtclab/rtclab/history"
	"github.com/rtclab/rtclab/internal/realpeer"
)

// TestPageRanksServers: an invite naming two servers (the worse one
// first) runs the page against each in turn in headless Chromium, stores
// one result per server in one run, and ranks them by rtclab diagnose's
// rule — the server whose TURN port drops UDP (an nftables rule on
// loopback, as a firewall would) after the one that works — on the page,
// in the history's run and in the console.
func TestPageRanksServers(t *testing.T) {
	nft := realpeer.Binary(t, "nft")
	l := newLab(t, "--window-size=1000,1800")
	// Two full serves, each with its own history (as every region's
	// would be): the invite is the first's only.
	good, worse := serveHistory(t, l), serveHistory(t, l)
	infoB, err := diagnose.FetchServer(context.Background(), l.client, worse)
	if err != nil {
		t.Fatal(err)
	}
	dropTURNUDP(t, l, nft, infoB)

	var inv struct{ Token, URL string }
	body := fmt.Sprintf(`{"label":"two-regions","expires_in":"1h","max_uses":1,"servers":[%q,%q]}`, worse, good)
	if code := adminDo(t, l.client, "POST", good+"/api/v1/invites", body, &inv); code != http.StatusCreated {
		t.Fatalf("invite: %d %+v", code, inv)
	}
	start := time.Now()
	var ranking struct {
		Servers []struct {
			Rank    int
			Server  string
			Verdict string
		}
		Title string
		Table [][]string
	}
	state := runPage(t, l.browser, inv.URL, func(ctx context.Context) {
		js, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(window.rtclabRanking || null)`))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(js), &ranking); err != nil {
			t.Fatalf("ranking %s: %v", js, err)
		}
		shown, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('ranked').innerText`))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(shown, diagnose.RankTitle) || !strings.Contains(shown, diagnose.RankNote) {
			t.Errorf("the page does not show the ranking in diagnose's words:\n%s", shown)
		}
		if screenshot(t, ctx, "testpage-ranking.png") {
			// The console with the run, then the run's ranking there.
			if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
				Headers: network.Headers{"Authorization": "Bearer " + adminToken},
			}); err != nil {
				t.Fatal(err)
			}
			var recs []history.Record
			adminDo(t, l.client, "GET", good+"/api/v1/results?label=two-regions", "", &recs)
			for _, u := range []struct{ url, png string }{{good + "/console", "testpage-ranking-console.png"}, {good + "/console/runs/" + recs[0].Run, "testpage-ranking-run.png"}} {
				if err := chromedp.Do(ctx, chromedp.Navigate(u.url)); err != nil {
					t.Fatal(err)
				}
				screenshot(t, ctx, u.png)
			}
		}
	})
	t.Logf("page finished in %s: %s", time.Since(start).Round(time.Millisecond), state)
	if !strings.HasPrefix(state, "done") {
		t.Fatalf("page: %s", state)
	}
	for _, s := range ranking.Servers {
		t.Logf("rank %d: %s %s", s.Rank, s.Server, s.Verdict)
	}
	if len(ranking.Servers) != 2 || ranking.Servers[0].Server != good || ranking.Servers[1].Server != worse ||
		ranking.Servers[0].Rank != 1 || ranking.Servers[1].Rank != 2 || len(ranking.Table) != 3 {
		t.Fatalf("page ranking %+v, want %s then %s", ranking, good, worse)
	}

	// The history: one result per server, one run, one use of the invite.
	var recs []history.Record
	adminDo(t, l.client, "GET", good+"/api/v1/results?label=two-regions", "", &recs)
	if len(recs) != 2 || recs[0].Run == "" || recs[0].Run != recs[1].Run {
		t.Fatalf("history: %+v", recs)
	}
	byTarget := map[string]history.Record{}
	for _, r := range recs {
		byTarget[r.Target] = r
		if r.Partial || r.Verdict == "" {
			t.Errorf("%s: partial %v verdict %q", r.Target, r.Partial, r.Verdict)
		}
	}
	var full history.Record
	adminDo(t, l.client, "GET", good+"/api/v1/results/"+byTarget[worse].ID, "", &full)
	res, err := full.Result()
	if err != nil {
		t.Fatal(err)
	}
	// Its test peer took the page's calls (uninvited there: the invite
	// is the first server's), so the only fault is the blocked UDP.
	if full.BestPath == "" || full.Verdict != "warn" {
		t.Errorf("%s: best path %q, verdict %q: want a connection and warn", worse, full.BestPath, full.Verdict)
	}
	if !strings.Contains(res.Verdict.Summary+fmt.Sprint(res.Findings), "UDP to the TURN server is blocked") {
		t.Errorf("%s: UDP to TURN dropped, yet %s: %s", worse, res.Verdict.Level, res.Verdict.Summary)
	}
	var invites []history.Invite
	adminDo(t, l.client, "GET", good+"/api/v1/invites", "", &invites)
	if len(invites) != 1 || invites[0].Uses != 1 || len(invites[0].Servers) != 2 {
		t.Errorf("invites %+v: want one use of a two-server invite", invites)
	}
	var cmp diagnose.Comparison
	adminDo(t, l.client, "GET", good+"/api/v1/runs/"+recs[0].Run, "", &cmp)
	if len(cmp.Servers) != 2 || cmp.Servers[0].Server != good || cmp.Servers[1].Server != worse {
		t.Errorf("the history's ranking of the run: %+v", cmp.Servers)
	}
	req, _ := http.NewRequest("GET", good+"/console/runs/"+recs[0].Run, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := l.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.Index(string(page), "1. "+good) < 0 || strings.Index(string(page), "2. "+worse) < 0 {
		t.Errorf("console ranking: %s\n%.400s", resp.Status, page)
	}
}

// dropTURNUDP drops UDP to the server's TURN port on the loopback of l's namespace with an
// nftables table of its own, deleted when the test ends.
func dropTURNUDP(t *testing.T, l *lab, nft string, info diagnose.ServerInfo) {
	t.Helper()
	port := ""
	for _, u := range info.TURN {
		if strings.HasSuffix(u, "?transport=udp") {
			hostPort := strings.TrimSuffix(strings.TrimPrefix(u, "turn:"), "?transport=udp")
			port = hostPort[strings.LastIndex(hostPort, ":")+1:]
		}
	}
	if port == "" {
		t.Fatalf("no TURN UDP URL in %v", info.TURN)
	}
	table := fmt.Sprintf("page_rank_%d", os.Getpid())
	rules := fmt.Sprintf("table inet %s {\n chain in {\n  type filter hook input priority -10;\n  ip daddr 127.0.0.1 udp dport %s drop\n }\n}\n", table, port)
	cmd := exec.Command("ip", "netns", "exec", l.ns.Name, nft, "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		realpeer.Unavailable(t, fmt.Sprintf("nft: %v: %s", err, out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "exec", l.ns.Name, nft, "delete", "table", "inet", table).CombinedOutput(); err != nil {
			t.Errorf("nft delete table %s: %v: %s", table, err, out)
		}
	})
}
