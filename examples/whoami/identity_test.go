package main

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// defaultNames are the header names the flags default to.
var defaultNames = headerNames{Name: defaultNameHeader, Email: defaultEmailHeader, Claims: defaultClaimsHeader}

// claimsValue encodes claims (JSON text) the way claims_header does.
func claimsValue(claims string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(claims))
}

func TestIdentityFromHeader(t *testing.T) {
	tests := []struct {
		name    string
		header  http.Header
		names   headerNames
		want    identity
		wantErr error
	}{
		{
			name:   "plain ASCII claim headers",
			header: http.Header{"X-User-Name": {"Ada Lovelace"}, "X-User-Email": {"ada@example.com"}},
			want:   identity{Name: "Ada Lovelace", Email: "ada@example.com"},
		},
		{
			name:   "percent-encoded UTF-8",
			header: http.Header{"X-User-Name": {"Zo%C3%AB"}, "X-User-Email": {"zo%25e@example.com"}},
			want:   identity{Name: "Zoë", Email: "zo%e@example.com"},
		},
		{
			name:   "plus stays plus",
			header: http.Header{"X-User-Name": {"C++ Fan"}, "X-User-Email": {"a+b@example.com"}},
			want:   identity{Name: "C++ Fan", Email: "a+b@example.com"},
		},
		{
			name:   "encoded spaces at the ends and CR LF",
			header: http.Header{"X-User-Name": {"%20Ada%0D%0A"}, "X-User-Email": {"ada@example.com"}},
			want:   identity{Name: " Ada\r\n", Email: "ada@example.com"},
		},
		{
			name: "claims header preferred",
			header: http.Header{
				"X-User-Name":   {"Mallory"},
				"X-User-Email":  {"mallory@example.com"},
				"X-User-Claims": {claimsValue(`{"sub":"u1","name":"Zoë","email":"zoe@example.com"}`)},
			},
			want: identity{Name: "Zoë", Email: "zoe@example.com"},
		},
		{
			name:   "claims header with non-string claims as compact JSON",
			header: http.Header{"X-User-Claims": {claimsValue(`{"name": ["Ada", "L"], "email": 42.0}`)}},
			want:   identity{Name: `["Ada","L"]`, Email: "42.0"},
		},
		{
			name:   "claims header ignored when disabled",
			header: http.Header{"X-User-Name": {"Ada"}, "X-User-Email": {"ada@example.com"}, "X-User-Claims": {"!!"}},
			names:  headerNames{Name: defaultNameHeader, Email: defaultEmailHeader},
			want:   identity{Name: "Ada", Email: "ada@example.com"},
		},
		{
			name:   "custom header names",
			header: http.Header{"Remote-User": {"Ada"}, "Remote-Email": {"ada@example.com"}, "X-User-Name": {"Mallory"}},
			names:  headerNames{Name: "Remote-User", Email: "Remote-Email"},
			want:   identity{Name: "Ada", Email: "ada@example.com"},
		},
		{name: "no headers", header: http.Header{}, wantErr: errMissingIdentity},
		{name: "no email", header: http.Header{"X-User-Name": {"Ada"}}, wantErr: errMissingIdentity},
		{name: "empty name", header: http.Header{"X-User-Name": {""}, "X-User-Email": {"ada@example.com"}}, wantErr: errMissingIdentity},
		{name: "claims without email", header: http.Header{"X-User-Claims": {claimsValue(`{"name":"Ada","email":null}`)}}, wantErr: errMissingIdentity},
		{name: "bad percent escape", header: http.Header{"X-User-Name": {"Zo%C"}, "X-User-Email": {"a@example.com"}}, wantErr: errInvalidIdentity},
		{name: "not UTF-8", header: http.Header{"X-User-Name": {"Zo%FF"}, "X-User-Email": {"a@example.com"}}, wantErr: errInvalidIdentity},
		{name: "name sent twice", header: http.Header{"X-User-Name": {"Ada", "Eve"}, "X-User-Email": {"a@example.com"}}, wantErr: errInvalidIdentity},
		{name: "claims sent twice", header: http.Header{"X-User-Claims": {claimsValue(`{"name":"A","email":"a@b"}`), claimsValue(`{}`)}}, wantErr: errInvalidIdentity},
		{name: "claims padded", header: http.Header{"X-User-Claims": {base64.URLEncoding.EncodeToString([]byte(`{"name":"Ada","email":"a@b"}`))}}, wantErr: errInvalidIdentity},
		{name: "claims not base64url", header: http.Header{"X-User-Claims": {"e30+"}}, wantErr: errInvalidIdentity},
		{name: "claims not an object", header: http.Header{"X-User-Claims": {claimsValue(`["Ada"]`)}}, wantErr: errInvalidIdentity},
		{name: "claims null", header: http.Header{"X-User-Claims": {claimsValue(`null`)}}, wantErr: errInvalidIdentity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			names := tt.names
			if names == (headerNames{}) {
				names = defaultNames
			}
			got, err := identityFromHeader(tt.header, names)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error = %v, want %v", err, tt.wantErr)
				}
				for _, values := range tt.header {
					for _, v := range values {
						if v != "" && strings.Contains(err.Error(), v) {
							t.Errorf("error %q quotes the header value %q", err, v)
						}
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got != tt.want {
				t.Errorf("identity = %+v, want %+v", got, tt.want)
			}
		})
	}
}
