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

// requests hands out the requests of one client: GET / (or a POST of one
// body) with a bearer token, the tokens in turn, or those of stream when it
// is set. It stops after max requests, after the last token unless cycle is
// set, or when stream is closed. It is safe for concurrent use.
type requests struct {
	prefix string // request line and headers up to the token
	suffix string // the end of the headers, and the body, after the token
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
		suffix: "\r\n\r\n",
		tokens: tokens,
		cycle:  cycle,
		max:    max,
	}
}

// newPostRequests prepares requests to addr with tokens that POST body, of
// media type contentType, to /.
func newPostRequests(addr, contentType, body string, tokens []string, cycle bool, max int64) *requests {
	return &requests{
		prefix: "POST / HTTP/1.1\r\nHost: " + addr + "\r\nUser-Agent: loadbench\r\nAccept: application/json, text/event-stream\r\n" +
			"Content-Type: " + contentType + "\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\nAuthorization: Bearer ",
		suffix: "\r\n\r\n" + body,
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
	return append(buf, r.suffix...), true
}

// tally counts the answers of one client.
type tally struct {
	statuses map[int]int64
	errors   int64
	firstErr error
	elapsed  time.Duration
}

// add merges o (nil: nothing) into t (elapsed: the longer one).
func (t *tally) add(o *tally) {
	if o == nil {
		return
	}
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
// sending one request at a time. Connection k binds its local address to
// sources[k % len(sources)] when sources is set, so that the server sees
// the client's connections come from those addresses.
type client struct {
	addr    string
	conns   int
	reqs    *requests
	sources []net.IP
}

// source is the local address of connection k, or nil for the default.
func (c client) source(k int) net.IP {
	if len(c.sources) == 0 {
		return nil
	}
	return c.sources[k%len(c.sources)]
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
		for k := range c.conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				t := connection(ctx, newHTTPConn(c.addr, c.source(k), until), c.reqs, until)
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

// connection sends requests over hc until the deadline, until reqs are
// used up, or until ctx ends, and counts the answers.
func connection(ctx context.Context, hc *httpConn, reqs *requests, until time.Time) *tally {
	t := &tally{statuses: map[int]int64{}}
	defer hc.close()
	buf := make([]byte, 0, 4096)
	for ctx.Err() == nil && time.Now().Before(until) {
		var ok bool
		if buf, ok = reqs.next(buf); !ok {
			break
		}
		res, err := hc.roundTrip(ctx, buf)
		if err != nil {
			t.fail(err)
			continue
		}
		t.statuses[res.status]++
	}
	return t
}

// httpConn is one keep-alive connection to addr, dialled when a request
// needs it and redialled after the server closed it or a request failed.
type httpConn struct {
	addr      string
	dialer    net.Dialer
	deadline  time.Time // of every connection's I/O
	conn      net.Conn
	br        *bufio.Reader
	stopAfter func() bool
}

// newHTTPConn prepares a connection to addr from the local address source
// (nil: the default) whose I/O ends at until plus responseGrace.
func newHTTPConn(addr string, source net.IP, until time.Time) *httpConn {
	hc := &httpConn{addr: addr, dialer: net.Dialer{Timeout: 2 * time.Second}, deadline: until.Add(responseGrace)}
	if source != nil {
		hc.dialer.LocalAddr = &net.TCPAddr{IP: source}
	}
	return hc
}

// roundTrip sends the raw request req and reads the answer. After an error
// the connection is closed; the next call dials anew.
func (hc *httpConn) roundTrip(ctx context.Context, req []byte) (response, error) {
	if hc.conn == nil {
		c, err := hc.dialer.DialContext(ctx, "tcp", hc.addr)
		if err != nil {
			time.Sleep(10 * time.Millisecond) // no busy loop while the server is away
			return response{}, err
		}
		hc.conn = c
		_ = c.SetDeadline(hc.deadline)
		hc.stopAfter = context.AfterFunc(ctx, func() { c.Close() })
		if hc.br == nil {
			hc.br = bufio.NewReaderSize(c, 16<<10)
		} else {
			hc.br.Reset(c)
		}
	}
	if _, err := hc.conn.Write(req); err != nil {
		hc.close()
		return response{}, err
	}
	res, err := readResponse(hc.br)
	if err != nil || !res.keepAlive {
		hc.close()
	}
	return res, err
}

// close closes the connection, if one is open.
func (hc *httpConn) close() {
	if hc.conn != nil {
		hc.stopAfter()
		hc.conn.Close()
		hc.conn = nil
	}
}

// errFraming is a response the load generator cannot delimit.
var errFraming = errors.New("response without Content-Length")

// response is what the load generator reads of an answer.
type response struct {
	status     int
	keepAlive  bool          // the connection stays open
	retryAfter time.Duration // Retry-After in seconds; 0 when absent
}

// readResponse reads one HTTP/1.1 response to a GET or POST, discarding its
// body.
// Every answer of the benchmark's sites carries a Content-Length.
func readResponse(br *bufio.Reader) (response, error) {
	var res response
	line, err := br.ReadSlice('\n')
	if err != nil {
		return response{}, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return response{}, fmt.Errorf("malformed status line %q", line)
	}
	if res.status, err = strconv.Atoi(string(line[9:12])); err != nil {
		return response{}, fmt.Errorf("malformed status line %q", line)
	}
	res.keepAlive = line[7] == '1' // HTTP/1.1 keeps the connection by default
	length := -1
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return response{}, err
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
				return response{}, fmt.Errorf("malformed Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			return response{}, fmt.Errorf("unsupported Transfer-Encoding %q", value)
		case bytes.EqualFold(name, []byte("Connection")):
			res.keepAlive = !bytes.EqualFold(value, []byte("close"))
		case bytes.EqualFold(name, []byte("Retry-After")):
			if seconds, err := strconv.Atoi(string(value)); err == nil && seconds > 0 {
				res.retryAfter = time.Duration(seconds) * time.Second
			}
		}
	}
	switch {
	case res.status == 204 || res.status == 304 || res.status < 200:
		return res, nil
	case length < 0:
		return response{}, errFraming
	}
	if _, err := br.Discard(length); err != nil {
		return response{}, err
	}
	return res, nil
}
