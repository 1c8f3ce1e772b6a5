package filewatch

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/regularfile"
)

// MaxFileBytes is the largest file content a Watcher reads. A larger file is
// reported as a read error and never handed to the apply callback, so a file
// replaced by something huge cannot bloat the process.
const MaxFileBytes = 1 << 20

// Options configures a Watcher.
type Options struct {
	// Path is the file to watch. It is opened by name at every check, so
	// symlinks along it are followed afresh each time. Required.
	Path string

	// Interval is the time between two background checks. Zero or negative
	// means no background polling: only explicit calls to Check look at
	// the file.
	Interval time.Duration

	// Initial is the content already in force when the Watcher is created
	// (what the caller loaded at start). A check that reads the same bytes
	// applies nothing.
	Initial []byte

	// Apply receives a content that differs from the one in force. It
	// returns nil when it took the content into use, or an error when it
	// refused it (then the previous content stays in force). Required.
	Apply func(data []byte) error

	// OnError receives every failure worth reporting: a file that cannot
	// be read or a content Apply refused. The same failure is reported
	// once, not at every check, until the file's state changes. Optional.
	OnError func(err error)
}

// Watcher polls one file for a change of content. Its methods are safe for
// concurrent use; Apply and OnError are never called concurrently with each
// other or themselves.
type Watcher struct {
	opts Options

	// newTicker makes the tick source of the background loop; tests
	// replace it to drive ticks by hand.
	newTicker func(time.Duration) (<-chan time.Time, func())

	mu       sync.Mutex // serializes checks, and with them the callbacks
	applied  [sha256.Size]byte
	reported string // the failure last reported; "" when none is pending

	lifecycle sync.Mutex
	stop      chan struct{}
	done      chan struct{}
}

// New returns a Watcher for opts.Path whose content in force is
// opts.Initial. It does not start polling; call Start for that.
func New(opts Options) (*Watcher, error) {
	if opts.Path == "" {
		return nil, errors.New("filewatch: no path")
	}
	if opts.Apply == nil {
		return nil, errors.New("filewatch: no apply callback")
	}
	return &Watcher{
		opts:      opts,
		newTicker: realTicker,
		applied:   sha256.Sum256(opts.Initial),
	}, nil
}

// Check reads the file once, now, and applies its content when it differs
// from the content in force. It reports whether it applied a new content,
// and returns the failure of this check, if any: a *ReadError or an
// *ApplyError. A failure is passed to OnError only when it differs from the
// one reported last, but Check returns it every time.
func (w *Watcher) Check() (applied bool, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()

	data, err := regularfile.Read(w.opts.Path, MaxFileBytes)
	if err != nil {
		rerr := &ReadError{Err: err}
		w.report(rerr, "read\x00"+err.Error())
		return false, rerr
	}
	sum := sha256.Sum256(data)
	if sum == w.applied {
		w.reported = ""
		return false, nil
	}
	if err := w.opts.Apply(data); err != nil {
		aerr := &ApplyError{Err: err}
		w.report(aerr, fmt.Sprintf("apply\x00%x", sum))
		return false, aerr
	}
	w.applied = sum
	w.reported = ""
	return true, nil
}

// report passes err to OnError unless the failure identified by key was
// the last one reported.
func (w *Watcher) report(err error, key string) {
	if key == w.reported {
		return
	}
	w.reported = key
	if w.opts.OnError != nil {
		w.opts.OnError(err)
	}
}
