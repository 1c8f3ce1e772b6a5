package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// responseGrace is how long a request may take after its scenario's end
// (a refused flood request may wait up to 1s for a key-operation slot).
const responseGrace = 5 * time.Second

// requests hands out the requests of one client: GET / with a bearer token,
// the tokens in turn, or those of stream when it is set. It stops after max
// requests, after the last token unless cycle is set, or when stream is
// closed. It is safe for concurrent use.
type requests struct {
	prefix string // request line and headers up to the token
	tokens []string
	stream <-chan string
	cycle  bool
	max    int64
	sent   atomic.Int64
}

// newRequests prepares requests to addr with tokens.
func newRequests(addr string, tokens []string, cycle bool, max int64) *requests {
	return &requests{
		prefix: "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUser-Agent: loadbench\r\nAccept: */*\r\nAuthorization: Bearer ",
		tokens: tokens,
		cycle:  cycle,
		max:    max,
	}
}

// next writes the next request into buf (reusing it) and reports whether
// there was one.
func (r *requests) next(buf []byte) ([]byte, bool) {
	n := r.sent.Add(1) - 1
	var token string
	switch {
	case n >= r.max:
		return buf, false
	case r.stream != nil:
		var ok bool
		if token, ok = <-r.stream; !ok {
			return buf, false
		}
	case len(r.tokens) == 0 || (!r.cycle && n >= int64(len(r.tokens))):
		return buf, false
	default:
		token = r.tokens[n%int64(len(r.tokens))]
	}
	buf = append(buf[:0], r.prefix...)
	buf = append(buf, token...)
	return append(buf, "\r\n\r\n"...), true
}

// tally counts the answers of one client.
type tally struct {
	statuses map[int]int64
	errors   int64
	firstErr error
	elapsed  time.Duration
}

// add merges o into t (elapsed: the longer one).
func (t *tally) add(o *tally) {
	if t.statuses == nil {
		t.statuses = map[int]int64{}
	}
	for status, n := range o.statuses {
		t.statuses[status] += n
	}
	t.errors += o.errors
	if t.firstErr == nil {
		t.firstErr = o.firstErr
	}
	t.elapsed = max(t.elapsed, o.elapsed)
}

// fail records a transport error.
func (t *tally) fail(err error) {
	t.errors++
	if t.firstErr == nil {
		t.firstErr = err
	}
}

// total is the number of answers.
func (t *tally) total() int64 {
	var n int64
	for _, c := range t.statuses {
		n += c
	}
	return n
}

// rate is the 200 answers per second.
func (t *tally) rate() float64 {
	if t.elapsed <= 0 {
		return 0
	}
	return float64(t.statuses[200]) / t.elapsed.Seconds()
}

// client is one load generator: conns keep-alive connections to addr, each
// sending one request at a time.
type client struct {
	addr  string
	conns int
	reqs  *requests
}

// runClients runs the clients at once until the deadline, until their
// requests are used up, or until ctx ends, and returns a tally per client.
func runClients(ctx context.Context, until time.Time, clients ...client) []*tally {
	start := time.Now()
	tallies := make([]*tally, len(clients))
	var wg sync.WaitGroup
	for i, c := range clients {
		tallies[i] = &tally{statuses: map[int]int64{}}
		var mu sync.Mutex
		for range c.conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				t := connection(ctx, c.addr, c.reqs, until)
				t.elapsed = time.Since(start)
				mu.Lock()
				tallies[i].add(t)
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	return tallies
}

// connection sends requests over one keep-alive connection (redialled when
// the server closes it or a request fails) and counts the answers.
func connection(ctx context.Context, addr string, reqs *requests, until time.Time) *tally {
	t := &tally{statuses: map[int]int64{}}
	var conn net.Conn
	var br *bufio.Reader
	var stopAfter func() bool
	closeConn := func() {
		if conn != nil {
			stopAfter()
			conn.Close()
			conn = nil
		}
	}
	defer closeConn()
	dialer := net.Dialer{Timeout: 2 * time.Second}
	buf := make([]byte, 0, 4096)
	for ctx.Err() == nil && time.Now().Before(until) {
		var ok bool
		if buf, ok = reqs.next(buf); !ok {
			break
		}
		if conn == nil {
			c, err := dialer.DialContext(ctx, "tcp", addr)
			if err != nil {
				t.fail(err)
				time.Sleep(10 * time.Millisecond) // no busy loop while the server is away
				continue
			}
			conn = c
			_ = conn.SetDeadline(until.Add(responseGrace))
			stopAfter = context.AfterFunc(ctx, func() { c.Close() })
			if br == nil {
				br = bufio.NewReaderSize(conn, 16<<10)
			} else {
				br.Reset(conn)
			}
		}
		if _, err := conn.Write(buf); err != nil {
			t.fail(err)
			closeConn()
			continue
		}
		status, keepAlive, err := readResponse(br)
		if err != nil {
			t.fail(err)
			closeConn()
			continue
		}
		t.statuses[status]++
		if !keepAlive {
			closeConn()
		}
	}
	return t
}

// errFraming is a response the load generator cannot delimit.
var errFraming = errors.New("response without Content-Length")

// readResponse reads one HTTP/1.1 response to a GET, discarding its body,
// and returns its status and whether the connection stays open. Every
// answer of the benchmark's sites carries a Content-Length.
func readResponse(br *bufio.Reader) (status int, keepAlive bool, err error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, false, fmt.Errorf("malformed status line %q", line)
	}
	if status, err = strconv.Atoi(string(line[9:12])); err != nil {
		return 0, false, fmt.Errorf("malformed status line %q", line)
	}
	keepAlive = line[7] == '1' // HTTP/1.1 keeps the connection by default
	length := -1
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return 0, false, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return 0, false, fmt.Errorf("malformed Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			return 0, false, fmt.Errorf("unsupported Transfer-Encoding %q", value)
		case bytes.EqualFold(name, []byte("Connection")):
			keepAlive = !bytes.EqualFold(value, []byte("close"))
		}
	}
	switch {
	case status == 204 || status == 304 || status < 200:
		return status, keepAlive, nil
	case length < 0:
		return 0, false, errFraming
	}
	if _, err := br.Discard(length); err != nil {
		return 0, false, err
	}
	return status, keepAlive, nil
}
