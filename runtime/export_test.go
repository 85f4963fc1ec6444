package runtime

import "github.com/fsnotify/fsnotify"

// WithAddWatch replaces fsnotify's Add, so a test can reach the kernel's
// watch limit without lowering it for the whole machine.
func WithAddWatch(f func(w *fsnotify.Watcher, dir string) error) WatchOption {
	return func(o *watchOptions) { o.addWatch = f }
}

// WatchList lists the folders with an inotify watch.
func (w *Watcher) WatchList() []string { return w.fsw.WatchList() }

// WithNewWatcher replaces fsnotify.NewWatcher, so a test can run out of
// inotify instances.
func WithNewWatcher(f func() (*fsnotify.Watcher, error)) WatchOption {
	return func(o *watchOptions) { o.newWatcher = f }
}
