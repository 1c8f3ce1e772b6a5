package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Scenario (12), big listings: a Caddy of its own with the rules site's
// settings in front of a backend (in this process) that answers tools/list
// with a listing of -biglist-mb MB, every other tool named admin_*, half
// of the answers as application/json, half as an event stream. -biglist
// answers are fetched at once with the toolsToken, which may not use the
// admin_* tools; each must arrive whole and filtered, and the Caddy's peak
// RSS must not grow by bigListTargetMiB.
const bigListTargetMiB = 96

// bigListToolBytes is about the size of one tool of the listing.
const bigListToolBytes = 1000

// bigListRun is what scenario (12) measured.
type bigListRun struct {
	answers, toolsSent, toolsAllowed int
	peakStart, peakAfter             int64 // bytes
	took                             time.Duration
	failures                         []string
}

// bigListing returns a tools/list answer of about size bytes and the
// number of its tools the toolsToken may use.
func bigListing(size int) (body []byte, allowed, total int) {
	var b bytes.Buffer
	b.WriteString(`{"jsonrpc":"2.0","id":1,"result":{"tools":[`)
	pad := strings.Repeat("x", bigListToolBytes-200)
	for b.Len() < size {
		if total > 0 {
			b.WriteByte(',')
		}
		name := fmt.Sprintf("tool_%06d", total)
		if total%2 == 1 {
			name = fmt.Sprintf("admin_%06d", total)
		} else {
			allowed++
		}
		fmt.Fprintf(&b, `{"name":%q,"description":"%s","inputSchema":{"type":"object","properties":{"q":{"type":"string"}}}}`, name, pad)
		total++
	}
	b.WriteString(`],"nextCursor":"next"}}`)
	return b.Bytes(), allowed, total
}

// startBigListBackend serves the listing on 127.0.0.1 until ctx ends: as
// an event stream on /sse, as application/json elsewhere.
func startBigListBackend(ctx context.Context, body []byte) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/sse" {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, "event: message\ndata: ")
			_, _ = w.Write(body)
			_, _ = io.WriteString(w, "\n\n")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})}
	go func() { _ = srv.Serve(l) }()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	return l.Addr().String(), nil
}

// runBigListPhase runs scenario (12).
func (b *bench) runBigListPhase(ctx context.Context) error {
	if b.cfg.bigListAnswers == 0 || !b.cfg.selected(scenarioBigList) {
		return nil
	}
	body, allowed, total := bigListing(b.cfg.bigListMB << 20)
	b.printf("(12) big listings: a new Caddy with the rules site in front of a backend; %d tools/list answers of %.1f MiB (%d tools) at once...\n",
		b.cfg.bigListAnswers, mib(int64(len(body))), total)
	backendCtx, stopBackend := context.WithCancel(ctx)
	defer stopBackend()
	upstream, err := startBigListBackend(backendCtx, body)
	if err != nil {
		return err
	}
	ports, err := freePorts(1)
	if err != nil {
		return err
	}
	s := b.rules
	s.port, s.upstream = ports[0], upstream
	c, err := b.launch(ctx, "biglist", s)
	b.phaseCaddy = c
	if err != nil {
		return err
	}
	defer c.stop()
	run := &bigListRun{answers: b.cfg.bigListAnswers, toolsSent: total, toolsAllowed: allowed}
	b.bigList = run
	// One answer first, so that the token is in the cache and Caddy warm.
	if msg := fetchBigList(ctx, s.url()+"/json", b.toolsToken, allowed); msg != "" {
		run.failures = append(run.failures, "warm-up: "+msg)
	}
	if run.peakStart, _, err = c.memory(); err != nil {
		return err
	}
	start := time.Now()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range b.cfg.bigListAnswers {
		path := "/json"
		if i%2 == 1 {
			path = "/sse"
		}
		wg.Go(func() {
			if msg := fetchBigList(ctx, s.url()+path, b.toolsToken, allowed); msg != "" {
				mu.Lock()
				run.failures = append(run.failures, fmt.Sprintf("answer %d (%s): %s", i+1, path, msg))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	run.took = time.Since(start)
	if run.peakAfter, _, err = c.memory(); err != nil {
		return err
	}
	grew := mib(run.peakAfter - run.peakStart)
	b.printf("(12) big listings: %d answers filtered in %s; peak RSS %.1f -> %.1f MiB, +%.1f MiB (target < %d MiB: %s)\n",
		run.answers-len(run.failures), run.took.Round(time.Millisecond), mib(run.peakStart), mib(run.peakAfter),
		grew, bigListTargetMiB, verdict(grew < bigListTargetMiB))
	return ctx.Err()
}

// fetchBigList POSTs tools/list to url and checks that the answer holds
// exactly the allowed tools and no admin_* one. It returns what was wrong,
// or "".
func fetchBigList(ctx context.Context, url, token string, allowed int) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	if err != nil {
		return err.Error()
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Sprintf("status %d", resp.StatusCode)
	}
	var data io.Reader = resp.Body
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		line, err := findDataLine(bufio.NewReader(resp.Body))
		if err != nil {
			return err.Error()
		}
		data = bytes.NewReader(line)
	}
	var msg struct {
		JSONRPC string `json:"jsonrpc"`
		Result  struct {
			Tools      []struct{ Name string } `json:"tools"`
			NextCursor string                  `json:"nextCursor"`
		} `json:"result"`
	}
	if err := json.NewDecoder(data).Decode(&msg); err != nil {
		return "reading the answer: " + err.Error()
	}
	for _, tool := range msg.Result.Tools {
		if strings.HasPrefix(tool.Name, "admin_") {
			return "an admin_* tool arrived: the listing was not filtered"
		}
	}
	if len(msg.Result.Tools) != allowed || msg.JSONRPC != "2.0" || msg.Result.NextCursor != "next" {
		return fmt.Sprintf("%d tools arrived, want %d", len(msg.Result.Tools), allowed)
	}
	return ""
}

// findDataLine returns the value of the first data line of an event stream.
func findDataLine(r *bufio.Reader) ([]byte, error) {
	for {
		line, err := r.ReadBytes('\n')
		if value, ok := bytes.CutPrefix(line, []byte("data: ")); ok {
			return value, nil
		}
		if err != nil {
			return nil, fmt.Errorf("no data line in the event stream: %v", err)
		}
	}
}

// bigListProblems are the answers of (12) that did not arrive filtered.
func (b *bench) bigListProblems() []problem {
	if b.bigList == nil {
		return nil
	}
	var out []problem
	for _, f := range b.bigList.failures {
		out = append(out, problem{"(12) big listings: " + f, false})
	}
	return out
}
