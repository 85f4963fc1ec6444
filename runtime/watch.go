package runtime

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// WatchOption configures Watch.
type WatchOption func(*watchOptions)

type watchOptions struct {
	debounce time.Duration
	maxWait  time.Duration
	onReload func(error)
}

// WithDebounce sets how long the watcher waits for a burst of events to end
// (default 100ms) and the longest it lets a continuous burst delay a reload
// (default 2s).
func WithDebounce(quiet, maxWait time.Duration) WatchOption {
	return func(o *watchOptions) { o.debounce, o.maxWait = quiet, maxWait }
}

// WithReloadHook is called after every reload the watcher triggers.
func WithReloadHook(f func(error)) WatchOption { return func(o *watchOptions) { o.onReload = f } }

// Watcher feeds file-system events of the on-disk layers into Reload.
type Watcher struct {
	rt     *Runtime
	fsw    *fsnotify.Watcher
	opts   watchOptions
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// Watch starts watching every folder of every on-disk layer. fsnotify is
// not recursive, so each folder gets its own watch and new folders are
// added as they appear. Embedded and in-memory layers are not watched.
func (rt *Runtime) Watch(ctx context.Context, opts ...WatchOption) (*Watcher, error) {
	o := watchOptions{debounce: 100 * time.Millisecond, maxWait: 2 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	w := &Watcher{rt: rt, fsw: fsw, opts: o, done: make(chan struct{})}
	for _, l := range rt.layers {
		if l.Dir == "" {
			continue
		}
		if err := w.addTree(l.Dir); err != nil {
			fsw.Close()
			return nil, err
		}
	}
	ctx, w.cancel = context.WithCancel(context.WithoutCancel(ctx))
	go w.loop(ctx)
	return w, nil
}

// Close stops the watcher and waits for an in-flight reload to finish.
func (w *Watcher) Close() error {
	var err error
	w.once.Do(func() {
		w.cancel()
		err = w.fsw.Close()
		<-w.done
	})
	return err
}

func (w *Watcher) addTree(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while we walked
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if p != root && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir // VCS folders, ConfigMap ..data internals
		}
		if err := w.fsw.Add(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	})
}

func (w *Watcher) loop(ctx context.Context) {
	defer close(w.done)
	pending := map[Change]bool{}
	var quiet, deadline <-chan time.Time
	flush := func() {
		changes := make([]Change, 0, len(pending))
		for c := range pending {
			changes = append(changes, c)
		}
		clear(pending)
		quiet, deadline = nil, nil
		err := w.rt.Reload(ctx, changes)
		if w.opts.onReload != nil {
			w.opts.onReload(err)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.fsw.Events:
			if !ok {
				return
			}
			c, ok := w.change(ev)
			if !ok {
				continue
			}
			pending[c] = true
			quiet = time.After(w.opts.debounce)
			if deadline == nil {
				deadline = time.After(w.opts.maxWait)
			}
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return
			}
			// An overflowed queue loses events: re-read everything.
			w.rt.opts.logger.Warn("file watcher error; rescanning the app", "error", err)
			for i, l := range w.rt.layers {
				if l.Dir != "" {
					pending[Change{Layer: i, Path: ""}] = true
				}
			}
			quiet = time.After(w.opts.debounce)
		case <-quiet:
			flush()
		case <-deadline:
			flush()
		}
	}
}

// change maps an event to a layer-relative change, adding watches for new
// folders on the way.
func (w *Watcher) change(ev fsnotify.Event) (Change, bool) {
	if ev.Has(fsnotify.Create) {
		if fi, err := os.Stat(ev.Name); err == nil && fi.IsDir() && !strings.HasPrefix(filepath.Base(ev.Name), ".") {
			if err := w.addTree(ev.Name); err != nil {
				w.rt.opts.logger.Warn("cannot watch new folder", "folder", ev.Name, "error", err)
			}
		}
	}
	for i, l := range w.rt.layers {
		if l.Dir == "" {
			continue
		}
		rel, err := filepath.Rel(l.Dir, ev.Name)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			continue
		}
		rel = filepath.ToSlash(rel)
		// Inside an element, any event (including a ConfigMap's ..data swap
		// or an editor's temp file) re-reads that element only.
		if base := filepath.Base(rel); strings.HasPrefix(base, ".") || strings.HasSuffix(base, "~") {
			rel = filepath.ToSlash(filepath.Dir(rel))
		}
		if rel == AppFile {
			// The layers are fixed when the app opens; say so rather than
			// silently ignoring an edited "extends".
			w.rt.opts.logger.Warn("app.json changed; restart to apply changes to its extends list", "file", ev.Name)
			return Change{}, false
		}
		if rel == "public" || strings.HasPrefix(rel, "public/") {
			return Change{}, false
		}
		return Change{Layer: i, Path: rel}, true
	}
	return Change{}, false
}
