//go:build unix

package mcpjweauth

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/regularfile/regularfiletest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// TestSpecialKeyFilesAtLoad: a key file, issuer_keys file or issuer_keys_ca
// that is a FIFO, a device or a socket stops the config at once with an
// error that names the path and what it is.
func TestSpecialKeyFilesAtLoad(t *testing.T) {
	files := regularfiletest.Special(t)
	private := josetest.WriteJWKS(t, t.TempDir(), "private.json", josetest.JWK(josetest.RSAKey(t, 0), "k1", "RSA-OAEP", "enc"))
	for name, path := range files {
		for _, setting := range []string{"key_file", "issuer_keys", "issuer_keys_ca"} {
			t.Run(setting+" "+name, func(t *testing.T) {
				h := &Handler{KeyFile: private, Scopes: []string{"name"}, Audience: []string{"mcp"}, KeyReload: "off"}
				switch setting {
				case "key_file":
					h.KeyFile, h.AllowUnsigned = path, true
				case "issuer_keys":
					h.IssuerKeys = path
				case "issuer_keys_ca":
					h.IssuerKeys, h.IssuerKeysCA = "https://127.0.0.1:1/jwks.json", path
				}
				ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
				defer cancel()
				var err error
				regularfiletest.WithinHangBound(t, "Provision", func() { err = h.Provision(ctx) })
				if err == nil {
					_ = h.Cleanup()
					t.Fatal("Provision succeeded")
				}
				label := map[string]string{"key_file": "key file"}[setting]
				if label == "" {
					label = setting
				}
				for _, want := range []string{label, path, regularfiletest.Kinds[name], "not a regular file"} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not contain %q", err, want)
					}
				}
			})
		}
	}
}

// TestKeyFileSwappedToSpecialFile swaps the key file's symlink to a FIFO, a
// device and a socket: each check returns at once, is logged with the path
// and the reason and counted, and the last good keys stay; a key set put
// back later is applied, and Cleanup returns with a FIFO in place.
func TestKeyFileSwappedToSpecialFile(t *testing.T) {
	f := newReloadFixture(t)
	link := filepath.Join(f.dir, "current.json")
	if err := os.Symlink(f.keyFile, link); err != nil {
		t.Fatal(err)
	}
	swap := func(target string) {
		t.Helper()
		tmp := link + ".tmp"
		if err := os.Symlink(target, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, link); err != nil {
			t.Fatal(err)
		}
	}
	h := f.provision(t, f.handler(func(h *Handler) { h.KeyFile = link }))
	core, logs := observer.New(zap.InfoLevel)
	h.logger = zap.New(core)
	tokenA := f.token(t, f.keyA, "a", nil)
	wantStatus(t, h, tokenA, http.StatusOK)

	files := regularfiletest.Special(t)
	order := []string{"fifo", "zero", "socket", "null"} // each differs from the one before
	for i, name := range order {
		swap(files[name])
		var err error
		regularfiletest.WithinHangBound(t, "checking "+name, func() { err = check(t, h, 0) })
		if err == nil {
			t.Fatalf("%s was applied", name)
		}
		wantStatus(t, h, tokenA, http.StatusOK)
		wantStatus(t, h, f.token(t, f.keyA, fmt.Sprint("new", i), nil), http.StatusOK)
	}
	if got := keyReloads(h, keyFileKind, "failure"); got != float64(len(order)) {
		t.Fatalf("%v failed reloads counted; want %d", got, len(order))
	}
	entries := logs.FilterMessage("key file not reloaded; the last good keys stay in use").All()
	if len(entries) != len(order) {
		t.Fatalf("%d failures logged; want %d", len(entries), len(order))
	}
	for i, entry := range entries {
		fields := entry.ContextMap()
		reason := fmt.Sprint(fields["reason"])
		if fields[keyFileKind] != link || !strings.Contains(reason, link) || !strings.Contains(reason, regularfiletest.Kinds[order[i]]) {
			t.Fatalf("failure logged as %v; want the path and a reason naming it and %q", fields, regularfiletest.Kinds[order[i]])
		}
	}

	next := josetest.WriteJWKS(t, f.dir, "next.json", f.keyB)
	swap(next)
	if err := check(t, h, 0); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, h, f.token(t, f.keyB, "b", nil), http.StatusOK)
	wantStatus(t, h, tokenA, http.StatusUnauthorized)

	swap(files["fifo"])
	regularfiletest.WithinHangBound(t, "Cleanup", func() { _ = h.Cleanup() })
}
