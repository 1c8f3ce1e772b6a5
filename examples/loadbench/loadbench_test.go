package main

import (
	"bufio"
	"io"
	"strings"
	"testing"
	"time"
)

func TestReadResponse(t *testing.T) {
	for _, tc := range []struct {
		name       string
		raw        string
		status     int
		keepAlive  bool
		retryAfter time.Duration
		err        bool
	}{
		{"ok", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, true, 0, false},
		{"refused", "HTTP/1.1 401 Unauthorized\r\ncontent-length: 25\r\nWww-Authenticate: Bearer\r\n\r\n{\"error\":\"invalid_token\"}", 401, true, 0, false},
		{"close", "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", 503, false, 0, false},
		{"busy", "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 2\r\nContent-Length: 0\r\n\r\n", 503, true, 2 * time.Second, false},
		{"bad retry-after", "HTTP/1.1 503 Service Unavailable\r\nRetry-After: soon\r\nContent-Length: 0\r\n\r\n", 503, true, 0, false},
		{"http/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 200, false, 0, false},
		{"no content", "HTTP/1.1 204 No Content\r\n\r\n", 204, true, 0, false},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", 0, false, 0, true},
		{"no length", "HTTP/1.1 200 OK\r\n\r\nok", 0, false, 0, true},
		{"garbage", "SSH-2.0-OpenSSH\r\n", 0, false, 0, true},
		{"short body", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nok", 0, false, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := readResponse(bufio.NewReader(strings.NewReader(tc.raw)))
			if (err != nil) != tc.err || res.status != tc.status || res.keepAlive != tc.keepAlive || res.retryAfter != tc.retryAfter {
				t.Fatalf("got %+v, %v; want %d, %v, %s, error %v", res, err, tc.status, tc.keepAlive, tc.retryAfter, tc.err)
			}
		})
	}
}

func TestReadResponseKeepsTheNextOne(t *testing.T) {
	br := bufio.NewReader(strings.NewReader("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n"))
	for _, want := range []int{200, 401} {
		if res, err := readResponse(br); err != nil || res.status != want {
			t.Fatalf("got %d, %v; want %d", res.status, err, want)
		}
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("bytes left over: %v", err)
	}
}

func TestRequests(t *testing.T) {
	r := newRequests("127.0.0.1:1", []string{"a", "b"}, false, 10)
	var got []string
	for buf, ok := r.next(nil); ok; buf, ok = r.next(buf) {
		got = append(got, string(buf))
	}
	want := "GET / HTTP/1.1\r\nHost: 127.0.0.1:1\r\nUser-Agent: loadbench\r\nAccept: */*\r\nAuthorization: Bearer a\r\n\r\n"
	if len(got) != 2 || got[0] != want || !strings.Contains(got[1], "Bearer b\r\n") {
		t.Fatalf("got %q", got)
	}
	cycled := newRequests("127.0.0.1:1", []string{"a"}, true, 3)
	n := 0
	for _, ok := cycled.next(nil); ok; _, ok = cycled.next(nil) {
		n++
	}
	if n != 3 {
		t.Fatalf("a cycling source gave %d requests, want its bound 3", n)
	}
}

func TestCaddyfileStaysOnLoopback(t *testing.T) {
	cf := renderCaddyfile(site{port: 1, cacheSize: -1}, site{port: 2, keyFile: "/k.json", issuerFile: "/i.json", cacheSize: 0})
	for _, want := range []string{"admin off", "persist_config off", "auto_https off", "http://127.0.0.1:1 {", "http://127.0.0.1:2 {",
		`key_file "/k.json"`, `issuer_keys "/i.json"`, "audience " + audience, "cache_size 0"} {
		if !strings.Contains(cf, want) {
			t.Errorf("Caddyfile lacks %q:\n%s", want, cf)
		}
	}
	if strings.Count(cf, "bind 127.0.0.1\n") != 2 {
		t.Errorf("every site must bind 127.0.0.1 only:\n%s", cf)
	}
	if unsigned := renderCaddyfile(site{port: 3, keyFile: "/k.json", cacheSize: -1}); !strings.Contains(unsigned, "allow_unsigned") || strings.Contains(unsigned, "cache_size") {
		t.Errorf("encrypted-only site:\n%s", unsigned)
	}
}

// TestCaddyfileToolsSites: the sites of (6) and (7) require the tools
// scope, read the body before they answer, and differ in nothing but
// their address and the rules of (7).
func TestCaddyfileToolsSites(t *testing.T) {
	tools := site{port: 6, keyFile: "/k.json", issuerFile: "/i.json", cacheSize: -1, oauthScopes: toolsScope}
	rules := tools
	rules.port, rules.rules = 7, toolRules
	without, with := renderCaddyfile(tools), renderCaddyfile(rules)
	if !strings.Contains(without, "\t\toauth_scopes "+toolsScope+"\n") || strings.Contains(without, "mcp_tool") {
		t.Errorf("site of (6):\n%s", without)
	}
	// Both answer as an MCP server does: after reading the call.
	if !strings.Contains(without, "\troute {\n\t\tvars request_body {http.request.body}\n\t\trespond `"+toolsCallResult+"` 200\n\t}\n") {
		t.Errorf("the site of (6) does not read the body before it answers:\n%s", without)
	}
	block := with[strings.Index(with, "mcp_jwe_auth {"):strings.Index(with, "\t}\n")]
	for _, rule := range toolRules {
		if !strings.Contains(block, "\t\t"+rule+"\n") {
			t.Errorf("the mcp_jwe_auth block of (7) lacks %q:\n%s", rule, with)
		}
	}
	stripped := strings.Replace(with, "127.0.0.1:7", "127.0.0.1:6", 1)
	for _, rule := range toolRules {
		stripped = strings.Replace(stripped, "\t\t"+rule+"\n", "", 1)
	}
	if stripped != without {
		t.Errorf("the sites differ in more than the address and the rules:\n%s\n%s", without, with)
	}
}

func TestParseProcStatus(t *testing.T) {
	peak, current, err := parseProcStatus([]byte("Name:\tcaddy\nVmHWM:\t   81920 kB\nVmRSS:\t   40960 kB\n"))
	if err != nil || peak != 80<<20 || current != 40<<20 {
		t.Fatalf("got %d, %d, %v", peak, current, err)
	}
	if _, _, err := parseProcStatus([]byte("Name:\tcaddy\n")); err == nil {
		t.Fatal("no error without VmHWM")
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(tc.xs); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.xs, got, tc.want)
		}
	}
}

func TestSmokeDefaults(t *testing.T) {
	c, err := parseFlags([]string{"-caddy", "x", "-smoke", "-rounds", "2"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.key != "rsa-2048" || c.rounds != 2 || c.duration != 400*time.Millisecond || c.rssTokens != 300 || c.timeout != 90*time.Second ||
		c.stormTokens != 20 || c.stormConns != 4 || c.fillTokens != 300 {
		t.Fatalf("smoke config %+v", c)
	}
	if c, err := parseFlags([]string{"-caddy", "x"}, io.Discard); err != nil || c.stormTokens != 500 || c.fillTokens != 10_000 {
		t.Fatalf("default config %+v, %v", c, err)
	}
	if _, err := parseFlags([]string{"-smoke"}, io.Discard); err == nil {
		t.Fatal("no error without -caddy")
	}
	if _, err := parseFlags([]string{"-caddy", "x", "-key", "rsa-1024"}, io.Discard); err == nil {
		t.Fatal("no error for an unknown key")
	}
}
