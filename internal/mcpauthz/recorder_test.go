package mcpauthz

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
)

// recorder is an http.ResponseWriter that logs every call in order, so
// tests can tell what reached the client, and when it was flushed.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
	log    []string
}

func newRecorder() *recorder {
	return &recorder{header: http.Header{}}
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	r.log = append(r.log, fmt.Sprintf("status %d", status))
	if r.status == 0 && (status < 100 || status > 199) {
		r.status = status
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	r.log = append(r.log, "write "+string(p))
	return r.body.Write(p)
}

func (r *recorder) Flush() {
	r.log = append(r.log, "flush")
}

// flushed returns what the client had received at the last flush.
func (r *recorder) flushed() string {
	var sent, atFlush string
	for _, entry := range r.log {
		if data, ok := strings.CutPrefix(entry, "write "); ok {
			sent += data
		} else if entry == "flush" {
			atFlush = sent
		}
	}
	return atFlush
}
