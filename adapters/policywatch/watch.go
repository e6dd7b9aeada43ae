package policywatch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/gatehouse/gatehouse/engine"
)

// DefaultDebounce is how long the watcher waits after the last change of
// a burst before it reloads.
const DefaultDebounce = 150 * time.Millisecond

// ReloadFunc checks and activates a policy set read from source, or says
// why it refused it. engine.Engine.Reload fits, with its policy dropped.
type ReloadFunc func(ctx context.Context, files map[string][]byte, source string) error

// Option configures Watch.
type Option func(*Watcher)

// WithDebounce sets the quiet time after a change before the reload.
func WithDebounce(d time.Duration) Option { return func(w *Watcher) { w.debounce = d } }

// WithLogger sets where the watcher logs refused reloads.
func WithLogger(l *slog.Logger) Option { return func(w *Watcher) { w.log = l } }

// WithReadErrors sets a function told when the directory cannot be read
// (no policy file left, a permission error), e.g. engine.Engine's
// ReportReloadFailure, so that the failure shows in the policy status.
func WithReadErrors(report func(source string, err error)) Option {
	return func(w *Watcher) { w.readErrors = report }
}

// Watcher follows one policy directory. It stops when the context given to
// Watch ends.
type Watcher struct {
	dir        string
	reload     ReloadFunc
	debounce   time.Duration
	log        *slog.Logger
	readErrors func(source string, err error)
	fs         *fsnotify.Watcher
	done       chan struct{}
}

// Watch starts watching dir and every directory under it, and returns once
// the watches are set. It then reloads once (closing the gap between the
// caller's own load and the start of the watch; files unchanged since are
// a no-op for engine.Engine.Reload), and again after every burst of
// changes to a .rego or .json file or a directory, until ctx ends.
func Watch(ctx context.Context, dir string, reload ReloadFunc, opts ...Option) (*Watcher, error) {
	if reload == nil {
		return nil, errors.New("policywatch: a reload function is required")
	}
	w := &Watcher{
		dir:      dir,
		reload:   reload,
		debounce: DefaultDebounce,
		log:      slog.Default(),
		done:     make(chan struct{}),
	}
	for _, opt := range opts {
		opt(w)
	}
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("policywatch: %w", err)
	}
	w.fs = fsw
	if err := w.addTree(dir); err != nil {
		fsw.Close()
		return nil, fmt.Errorf("policywatch: watch %s: %w", dir, err)
	}
	go w.run(ctx)
	return w, nil
}

// Done is closed once the watcher has stopped.
func (w *Watcher) Done() <-chan struct{} { return w.done }

// run reloads once, then after each debounced burst, until ctx ends.
func (w *Watcher) run(ctx context.Context) {
	defer close(w.done)
	defer w.fs.Close()
	w.reloadNow(ctx)

	quiet := time.NewTimer(w.debounce)
	quiet.Stop()
	defer quiet.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.fs.Events:
			if !ok {
				return
			}
			if w.relevant(ev) {
				quiet.Reset(w.debounce)
			}
		case err, ok := <-w.fs.Errors:
			if !ok {
				return
			}
			w.log.Warn("policy watch error; a change may be seen late", "dir", w.dir, "error", err)
		case <-quiet.C:
			w.reloadNow(ctx)
		}
	}
}

// relevant reports whether ev may change the policy set, and watches a new
// directory.
func (w *Watcher) relevant(ev fsnotify.Event) bool {
	if ev.Op == fsnotify.Chmod {
		return false
	}
	if ev.Has(fsnotify.Create) {
		if info, err := os.Stat(ev.Name); err == nil && info.IsDir() {
			if err := w.addTree(ev.Name); err != nil {
				w.log.Warn("cannot watch a new policy directory", "dir", ev.Name, "error", err)
			}
			return true
		}
	}
	// A removed or renamed directory has no extension: reload to be sure.
	return engine.IsPolicyFile(ev.Name) || filepath.Ext(ev.Name) == ""
}

// addTree watches dir and every directory under it.
func (w *Watcher) addTree(dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		return w.fs.Add(path)
	})
}

// reloadNow reads the directory and hands its files to the reload function.
func (w *Watcher) reloadNow(ctx context.Context) {
	files, err := engine.ReadPolicyFiles(os.DirFS(w.dir))
	if err != nil {
		w.log.Error("cannot read the policy directory; the active revision keeps serving", "dir", w.dir, "error", err)
		if w.readErrors != nil {
			w.readErrors(w.dir, err)
		}
		return
	}
	if err := w.reload(ctx, files, w.dir); err != nil {
		if ctx.Err() != nil {
			return
		}
		w.log.Error("policy change refused; the active revision keeps serving", "dir", w.dir, "error", err)
		return
	}
	w.log.Debug("policy files checked", "dir", w.dir, "revision", engine.Revision(files))
}
