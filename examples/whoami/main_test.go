package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestCheckLoopback(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:9000":      true,
		"127.0.0.2:9000":      true,
		"[::1]:9000":          true,
		"127.0.0.1:0":         true,
		"0.0.0.0:9000":        false,
		":9000":               false,
		"[::]:9000":           false,
		"10.0.0.5:9000":       false,
		"localhost:9000":      false,
		"example.com:9000":    false,
		"[::ffff:10.0.0.1]:1": false,
		"127.0.0.1":           false,
		"":                    false,
	} {
		err := checkLoopback(addr)
		if (err == nil) != ok {
			t.Errorf("checkLoopback(%q) = %v, want ok=%v", addr, err, ok)
		}
		if err != nil && !strings.Contains(err.Error(), "'"+addr+"'") {
			t.Errorf("checkLoopback(%q) error %q does not name the address", addr, err)
		}
	}
}

func TestRunRefusesNonLoopback(t *testing.T) {
	noEnv := func(string) (string, bool) { return "", false }
	err := run(context.Background(), []string{"-listen", "0.0.0.0:9000"}, noEnv, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "not a loopback IP address") {
		t.Fatalf("run with -listen 0.0.0.0:9000 = %v, want a refusal", err)
	}
	env := func(key string) (string, bool) { return "192.0.2.1:9000", key == "WHOAMI_LISTEN" }
	if err := run(context.Background(), nil, env, io.Discard); err == nil || !strings.Contains(err.Error(), "'192.0.2.1:9000'") {
		t.Fatalf("run with WHOAMI_LISTEN=192.0.2.1:9000 = %v, want a refusal", err)
	}
}

func TestParseConfig(t *testing.T) {
	env := map[string]string{"WHOAMI_NAME_HEADER": "Remote-Name", "WHOAMI_CLAIMS_HEADER": "", "WHOAMI_RESPONSE_FORMAT": "sse"}
	lookup := func(key string) (string, bool) { v, ok := env[key]; return v, ok }
	tests := []struct {
		name    string
		args    []string
		lookup  func(string) (string, bool)
		want    config
		wantErr string
	}{
		{
			name:   "defaults",
			lookup: func(string) (string, bool) { return "", false },
			want:   config{listen: defaultListen, names: defaultNames, jsonResponse: true},
		},
		{
			name:   "environment",
			lookup: lookup,
			want:   config{listen: defaultListen, names: headerNames{Name: "Remote-Name", Email: defaultEmailHeader}},
		},
		{
			name: "flags override environment",
			args: []string{"-listen", "[::1]:8000", "-name-header", "X-Name", "-email-header", "X-Mail", "-claims-header", "X-All",
				"-response-format", "json"},
			lookup: lookup,
			want:   config{listen: "[::1]:8000", names: headerNames{Name: "X-Name", Email: "X-Mail", Claims: "X-All"}, jsonResponse: true},
		},
		{name: "bad response format", args: []string{"-response-format", "SSE"}, lookup: lookup, wantErr: "invalid -response-format 'SSE'"},
		{name: "bad header name", args: []string{"-email-header", "X Mail"}, lookup: lookup, wantErr: "invalid -email-header 'X Mail'"},
		{name: "empty name header", args: []string{"-name-header", ""}, lookup: lookup, wantErr: "invalid -name-header ''"},
		{name: "bad claims header", args: []string{"-claims-header", "X:All"}, lookup: lookup, wantErr: "invalid -claims-header"},
		{name: "extra argument", args: []string{"serve"}, lookup: lookup, wantErr: "unexpected argument 'serve'"},
		{name: "unknown flag", args: []string{"-port", "1"}, lookup: lookup, wantErr: "usage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseConfig(tt.args, tt.lookup, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got != tt.want {
				t.Errorf("config = %+v, want %+v", got, tt.want)
			}
		})
	}
	if _, err := parseConfig([]string{"-h"}, lookup, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: error = %v, want flag.ErrHelp", err)
	}
}

func TestServeShutsDownGracefully(t *testing.T) {
	ln, err := listenLoopback("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	release := make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "done")
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, slow, slog.New(slog.DiscardHandler)) }()

	respc := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			respc <- err.Error()
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		respc <- string(body)
	}()
	<-started
	cancel()
	// New connections are refused once shutdown began; the request in
	// flight is still answered.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("listener still accepting after shutdown began")
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(release)
	if got := <-respc; got != "done" {
		t.Errorf("request in flight got %q, want %q", got, "done")
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not return after shutdown")
	}
}
