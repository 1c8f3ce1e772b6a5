package filewatch

import "time"

// Start begins checking the file every Interval in a goroutine of its own.
// It does nothing when Interval is zero or negative, or when the Watcher
// is already running. Failures go to OnError; Check's results are not
// otherwise visible.
func (w *Watcher) Start() {
	if w.opts.Interval <= 0 {
		return
	}
	w.lifecycle.Lock()
	defer w.lifecycle.Unlock()
	if w.stop != nil {
		return
	}
	w.stop = make(chan struct{})
	w.done = make(chan struct{})
	ticks, stopTicker := w.newTicker(w.opts.Interval)
	go w.loop(ticks, stopTicker, w.stop, w.done)
}

// Stop ends background polling and waits until the goroutine has returned,
// so no callback runs on its behalf once Stop returns. Stop on a Watcher
// that is not running does nothing; a stopped Watcher may be started again.
func (w *Watcher) Stop() {
	w.lifecycle.Lock()
	defer w.lifecycle.Unlock()
	if w.stop == nil {
		return
	}
	close(w.stop)
	<-w.done
	w.stop, w.done = nil, nil
}

// loop runs a check at every tick until stop is closed.
func (w *Watcher) loop(ticks <-chan time.Time, stopTicker func(), stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	defer stopTicker()
	for {
		select {
		case <-stop:
			return
		case <-ticks:
			select {
			case <-stop:
				return
			default:
			}
			_, _ = w.Check()
		}
	}
}

// realTicker is the tick source outside tests.
func realTicker(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}
