package runtime_test

// Cases a third review of the watcher tried: at rest nothing happens, and
// the layouts and deploys below follow edits as a fresh load reads them.

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/jitwx/jit/runtime"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// idle checks that at rest no reload, no new watch and no new log line happen.
func idle(t *testing.T, w *watched, adds *atomic.Int64, logs *syncLog, d time.Duration) {
	t.Helper()
	time.Sleep(300 * time.Millisecond)
	r0, a0, l0, c0 := w.reloads.Load(), adds.Load(), len(logs.String()), cpuTime()
	time.Sleep(d)
	r1, a1, l1, c1 := w.reloads.Load(), adds.Load(), len(logs.String()), cpuTime()
	t.Logf("at rest for %v: reloads +%d, addWatch +%d, log bytes +%d, cpu %v", d, r1-r0, a1-a0, l1-l0, c1-c0)
	if r1 != r0 || a1 != a0 || l1 != l0 {
		t.Errorf("not at rest: reloads +%d, addWatch +%d, log:\n%s", r1-r0, a1-a0, logs.String()[l0:])
	}
}

func counting(adds *atomic.Int64) runtime.WatchOption {
	return runtime.WithAddWatch(func(w *fsnotify.Watcher, dir string) error { adds.Add(1); return w.Add(dir) })
}

func TestWatchIdleSymlinks(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	real := filepath.Join(base, "real")
	mustRun(t, "mkdir", "-p", real)
	mustRun(t, "cp", "-r", newApp(t), filepath.Join(real, "app"))
	os.Symlink("real", filepath.Join(base, "link"))
	ext := t.TempDir()
	writeWidget(t, filepath.Join(ext, "L"), 1)
	os.Symlink(ext, filepath.Join(real, "app", "shared"))
	os.Symlink(ext, filepath.Join(real, "app", "shared2"))
	os.Symlink(".", filepath.Join(real, "app", "self"))
	os.Symlink("..", filepath.Join(real, "app", "up"))
	os.Symlink("demo/things", filepath.Join(real, "app", "alias"))
	logs := &syncLog{}
	var adds atomic.Int64
	w := openWatchedWith(t, filepath.Join(base, "link", "app"), logs, counting(&adds), runtime.WithPollInterval(20*time.Millisecond))
	idle(t, w, &adds, logs, time.Second)
	writeFile(t, filepath.Join(real, "app/demo/things/Red/Red.json"), `{"size":2}`)
	w.eventually(t, "edit", sizeIs("demo.things.Red", 2))
	idle(t, w, &adds, logs, time.Second)
}

// ConfigMap-style: the app's files are links through ..data.
func TestWatchIdleConfigMap(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	cm := filepath.Join(base, "cm")
	mustRun(t, "mkdir", "-p", cm)
	v1 := filepath.Join(cm, "..2026_v1")
	mustRun(t, "cp", "-r", newApp(t), v1)
	os.Symlink("..2026_v1", filepath.Join(cm, "..data"))
	for _, n := range []string{"app.json", "demo"} {
		os.Symlink(filepath.Join("..data", n), filepath.Join(cm, n))
	}
	logs := &syncLog{}
	var adds atomic.Int64
	w := openWatchedWith(t, cm, logs, counting(&adds), runtime.WithPollInterval(20*time.Millisecond))
	idle(t, w, &adds, logs, time.Second)
	v2 := filepath.Join(cm, "..2026_v2")
	mustRun(t, "cp", "-r", v1, v2)
	writeFile(t, filepath.Join(v2, "demo/things/Red/Red.json"), `{"size":2}`)
	swapSymlink(t, "..2026_v2", filepath.Join(cm, "..data"))
	os.RemoveAll(v1)
	w.eventually(t, "the new ConfigMap version", sizeIs("demo.things.Red", 2))
	idle(t, w, &adds, logs, time.Second)
	sameAsFreshLoad(t, w, cm)
}

func TestWatchIdleMissingApp(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	app := filepath.Join(base, "gone", "app")
	mustRun(t, "mkdir", "-p", filepath.Join(base, "gone"))
	mustRun(t, "cp", "-r", newApp(t), app)
	logs := &syncLog{}
	var adds atomic.Int64
	rt := open(t, app, runtime.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	os.RemoveAll(filepath.Join(base, "gone"))
	w := watch(t, rt, counting(&adds), runtime.WithPollInterval(20*time.Millisecond))
	w.eventually(t, "missing", func(s *runtime.Snapshot) bool { return true })
	idle(t, w, &adds, logs, time.Second)
	mustRun(t, "mkdir", "-p", filepath.Join(base, "gone"))
	mustRun(t, "cp", "-r", newApp(t), app)
	writeFile(t, filepath.Join(app, "demo/things/Red/Red.json"), `{"size":3}`)
	w.eventually(t, "back", sizeIs("demo.things.Red", 3))
	writeFile(t, filepath.Join(app, "demo/things/Red/Red.json"), `{"size":4}`)
	w.eventually(t, "edit after back", sizeIs("demo.things.Red", 4))
	idle(t, w, &adds, logs, time.Second)
}

// A parent named in extends that never appears: no reload, no log at rest.
func TestWatchIdleMissingParent(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	app := filepath.Join(base, "app")
	mustRun(t, "cp", "-r", newApp(t), app)
	writeFile(t, filepath.Join(app, "app.json"), `{"title":"t","extends":["../nope/p1"]}`)
	logs := &syncLog{}
	var adds atomic.Int64
	w := openDiscovering(t, app, logs, counting(&adds), runtime.WithPollInterval(20*time.Millisecond))
	idle(t, w, &adds, logs, time.Second)
	// a syntax error too
	writeAtomic(t, filepath.Join(app, "app.json"), `{"title":"t",}`)
	w.eventually(t, "syntax", func(s *runtime.Snapshot) bool {
		return strings.Contains(fmt.Sprint(problemLines(s.Problems())), "not valid JSON")
	})
	idle(t, w, &adds, logs, time.Second)
}

// A nested parent layer (app extends ./base, base not ignored) replaced by
// a rename: the app's own copy (base.*) must follow it too.
func TestWatchNestedRootRenamedOver(t *testing.T) {
	t.Parallel()
	app := t.TempDir()
	mustRun(t, "cp", "-r", newApp(t)+"/.", app)
	writeFile(t, filepath.Join(app, "app.json"), `{"title":"t","extends":["./base"]}`)
	writeWidget(t, filepath.Join(app, "base/demo/things/P"), 1)
	w := openDiscovering(t, app, &syncLog{}, runtime.WithPollInterval(50*time.Millisecond))
	next := filepath.Join(t.TempDir(), "base")
	mustRun(t, "cp", "-r", filepath.Join(app, "base"), next)
	writeWidget(t, filepath.Join(next, "demo/things/P"), 2)
	writeWidget(t, filepath.Join(next, "demo/things/Q"), 5)
	mustRun(t, "mv", filepath.Join(app, "base"), filepath.Join(t.TempDir(), "old"))
	mustRun(t, "mv", next, filepath.Join(app, "base"))
	w.eventually(t, "the parent layer's new P", sizeIs("demo.things.P", 2))
	writeFile(t, filepath.Join(app, "demo/things/Red/Red.json"), `{"size":2}`)
	w.eventually(t, "sentinel", sizeIs("demo.things.Red", 2))
	time.Sleep(300 * time.Millisecond)
	sameAsFreshLoad(t, w, app)
}

// A release swapped in by a symlink, with and without a parent nested in
// it: a new top-level folder of the new release is read.
func TestWatchSwappedRelease(t *testing.T) {
	t.Parallel()
	for name, prepare := range map[string]func(string){
		"plain": nil,
		"with a nested parent": func(r1 string) {
			writeFile(t, filepath.Join(r1, "app.json"), `{"title":"t","extends":["./base"],"ignore":["base"]}`)
			writeWidget(t, filepath.Join(r1, "base/demo/things/P"), 1)
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, current := releases(t, prepare, nil)
			w := openDiscovering(t, current, &syncLog{})
			swapSymlink(t, "release-2", current)
			w.eventually(t, "release-2 read", sizeIs("demo.things.Red", 2))
			time.Sleep(300 * time.Millisecond)
			writeWidget(t, filepath.Join(current, "zz/New"), 3)
			w.eventually(t, "a new top-level folder in release-2", sizeIs("zz.New", 3))
		})
	}
}

// A parent kept in a folder the app ignores (app extends ./vendor/p1,
// ignore vendor): the watch on vendor/, which sees p1 replaced, must stay.
func TestWatchParentInIgnoredFolder(t *testing.T) {
	t.Parallel()
	app := t.TempDir()
	mustRun(t, "cp", "-r", newApp(t)+"/.", app)
	for i := 1; i <= 2; i++ {
		writeWidget(t, filepath.Join(app, fmt.Sprintf("vendor/r%d/demo/things/P", i)), i)
	}
	os.Symlink("r1", filepath.Join(app, "vendor/p1"))
	writeFile(t, filepath.Join(app, "app.json"), `{"title":"t","extends":["./vendor/p1"],"ignore":["vendor"]}`)
	w := openDiscovering(t, app, &syncLog{}, runtime.WithPollInterval(time.Hour))
	t.Logf("watches: %v", watchList(t, w, app))
	swapSymlink(t, "r2", filepath.Join(app, "vendor/p1"))
	w.eventually(t, "p1 swapped to r2", sizeIs("demo.things.P", 2))
}

// Control: the parent beside the app, swapped the same way.
func TestWatchParentBesideSwapped(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	app := filepath.Join(base, "app")
	mustRun(t, "cp", "-r", newApp(t), app)
	for i := 1; i <= 2; i++ {
		writeWidget(t, filepath.Join(base, fmt.Sprintf("r%d/demo/things/P", i)), i)
	}
	os.Symlink("r1", filepath.Join(base, "p1"))
	writeFile(t, filepath.Join(app, "app.json"), `{"title":"t","extends":["../p1"]}`)
	w := openDiscovering(t, app, &syncLog{}, runtime.WithPollInterval(time.Hour))
	swapSymlink(t, "r2", filepath.Join(base, "p1"))
	w.eventually(t, "p1 swapped to r2", sizeIs("demo.things.P", 2))
}

// The app opened by relative paths, with a parent beside it and one inside.
func TestWatchRelativePaths(t *testing.T) {
	for _, form := range []string{"app", "./app", "../x/app", "./x/../x/app/"} {
		t.Run(form, func(t *testing.T) {
			base := t.TempDir()
			x := filepath.Join(base, "x")
			app := filepath.Join(x, "app")
			mustRun(t, "mkdir", "-p", x)
			mustRun(t, "cp", "-r", newApp(t), app)
			writeWidget(t, filepath.Join(x, "p1/demo/things/Fromp1"), 1)
			writeWidget(t, filepath.Join(app, "inner/demo/things/In"), 1)
			writeFile(t, filepath.Join(app, "app.json"), `{"title":"t","extends":["../p1","./inner"],"ignore":["inner"]}`)
			cwd := x
			if strings.HasPrefix(form, "../") {
				cwd = filepath.Join(base, "y")
				mustRun(t, "mkdir", "-p", cwd)
			} else if strings.HasPrefix(form, "./x") {
				cwd = base
			}
			t.Chdir(cwd)
			logs := &syncLog{}
			var adds atomic.Int64
			w := openDiscovering(t, form, logs, counting(&adds), runtime.WithPollInterval(50*time.Millisecond))
			writeFile(t, filepath.Join(x, "p1/demo/things/Fromp1/Fromp1.json"), `{"size":2}`)
			w.eventually(t, "edit in p1", sizeIs("demo.things.Fromp1", 2))
			writeFile(t, filepath.Join(app, "inner/demo/things/In/In.json"), `{"size":3}`)
			w.eventually(t, "edit in inner", sizeIs("demo.things.In", 3))
			writeFile(t, filepath.Join(app, "demo/things/Red/Red.json"), `{"size":4}`)
			w.eventually(t, "edit in app", sizeIs("demo.things.Red", 4))
			writeAtomic(t, filepath.Join(app, "app.json"), `{"title":"t","extends":["./inner"],"ignore":["inner"]}`)
			w.eventually(t, "p1 dropped", func(s *runtime.Snapshot) bool { return widgetIn(s, "demo.things.Fromp1") == nil })
			writeFile(t, filepath.Join(app, "inner/demo/things/In/In.json"), `{"size":5}`)
			w.eventually(t, "edit in inner", sizeIs("demo.things.In", 5))
			idle(t, w, &adds, logs, time.Second)
			for _, p := range w.watcher.WatchList() {
				if !filepath.IsAbs(p) {
					t.Errorf("relative watch %q", p)
				}
			}
		})
	}
}

// A nested parent that appears step by step (mkdir, then files).
func TestWatchNestedParentAppearsSlowly(t *testing.T) {
	t.Parallel()
	for _, delay := range []time.Duration{0, 30 * time.Millisecond, 120 * time.Millisecond} {
		t.Run(delay.String(), func(t *testing.T) {
			app := t.TempDir()
			mustRun(t, "cp", "-r", newApp(t)+"/.", app)
			writeFile(t, filepath.Join(app, "app.json"), `{"title":"t","extends":["./base"]}`)
			w := openDiscovering(t, app, &syncLog{}, runtime.WithPollInterval(50*time.Millisecond))
			os.MkdirAll(filepath.Join(app, "base/demo/things"), 0o755)
			time.Sleep(delay)
			writeWidget(t, filepath.Join(app, "base/demo/things/P"), 3)
			w.eventually(t, "P in the parent", sizeIs("demo.things.P", 3))
			w.eventually(t, "P in the app", sizeIs("base.demo.things.P", 3))
			sameAsFreshLoad(t, w, app)
			writeFile(t, filepath.Join(app, "base/demo/things/P/P.json"), `{"size":4}`)
			w.eventually(t, "P edited in the app", sizeIs("base.demo.things.P", 4))
			w.eventually(t, "P edited in the parent", sizeIs("demo.things.P", 4))
		})
	}
}

// The app inside its parent's folder (a monorepo: base/ is the parent,
// base/apps/child the app, which extends ../..).
func TestWatchAppInsideItsParent(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	writeFile(t, filepath.Join(base, "app.json"), `{"title":"base"}`)
	writeWidget(t, filepath.Join(base, "lib/demo/things/B"), 1)
	child := filepath.Join(base, "apps/child")
	mustRun(t, "mkdir", "-p", filepath.Join(base, "apps"))
	mustRun(t, "cp", "-r", newApp(t), child)
	writeFile(t, filepath.Join(child, "app.json"), `{"title":"t","extends":["../.."]}`)
	logs := &syncLog{}
	var adds atomic.Int64
	w := openDiscovering(t, child, logs, counting(&adds), runtime.WithPollInterval(50*time.Millisecond))
	writeFile(t, filepath.Join(child, "demo/things/Red/Red.json"), `{"size":2}`)
	w.eventually(t, "child edit", sizeIs("demo.things.Red", 2))
	w.eventually(t, "child edit via base", sizeIs("apps.child.demo.things.Red", 2))
	writeFile(t, filepath.Join(base, "lib/demo/things/B/B.json"), `{"size":3}`)
	w.eventually(t, "base edit", sizeIs("lib.demo.things.B", 3))
	sameAsFreshLoad(t, w, child)
	idle(t, w, &adds, logs, time.Second)
	// swap the child folder
	next := filepath.Join(t.TempDir(), "child")
	mustRun(t, "cp", "-r", child, next)
	writeFile(t, filepath.Join(next, "demo/things/Red/Red.json"), `{"size":5}`)
	mustRun(t, "mv", child, filepath.Join(t.TempDir(), "old"))
	mustRun(t, "mv", next, child)
	w.eventually(t, "child swapped", sizeIs("demo.things.Red", 5))
	w.eventually(t, "child swapped via base", sizeIs("apps.child.demo.things.Red", 5))
	writeFile(t, filepath.Join(child, "demo/things/Red/Red.json"), `{"size":6}`)
	w.eventually(t, "edit after swap", sizeIs("demo.things.Red", 6))
	sameAsFreshLoad(t, w, child)
	idle(t, w, &adds, logs, time.Second)
}

// The folder holding a parent is also linked into the app: dropping the
// parent must not take the watch the link needs.
func TestWatchDroppedParentFolderAlsoLinked(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	app := filepath.Join(base, "app")
	mustRun(t, "cp", "-r", newApp(t), app)
	writeWidget(t, filepath.Join(base, "shared/p1/demo/things/Fromp1"), 7)
	writeWidget(t, filepath.Join(base, "shared/S"), 1)
	os.Symlink("../shared", filepath.Join(app, "shared"))
	writeFile(t, filepath.Join(app, "app.json"), `{"title":"t","extends":["../shared/p1"],"ignore":["shared/p1"]}`)
	w := openDiscovering(t, app, &syncLog{})
	writeFile(t, filepath.Join(base, "shared/S/S.json"), `{"size":2}`)
	w.eventually(t, "edit in shared", sizeIs("shared.S", 2))
	writeAtomic(t, filepath.Join(app, "app.json"), `{"title":"t","ignore":["shared/p1"]}`)
	w.eventually(t, "p1 dropped", func(s *runtime.Snapshot) bool { return widgetIn(s, "demo.things.Fromp1") == nil })
	time.Sleep(200 * time.Millisecond)
	writeFile(t, filepath.Join(base, "shared/S/S.json"), `{"size":3}`)
	w.eventually(t, "edit in shared after the parent was dropped", sizeIs("shared.S", 3))
	t.Logf("watches: %v", watchList(t, w, base))
	writeWidget(t, filepath.Join(base, "shared/T"), 4)
	w.eventually(t, "a new folder in shared", sizeIs("shared.T", 4))
}

func TestWatchStress(t *testing.T) {
	t.Parallel()
	base, app, w := appWithTwoParents(t)
	_ = base
	stop := make(chan struct{})
	done := make(chan struct{}, 3)
	go func() {
		defer func() { done <- struct{}{} }()
		exts := []string{`["../p1","../p2"]`, `["../p2"]`, `[]`, `["../p2","../p1","./inner"]`, `["./inner"]`}
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			os.WriteFile(filepath.Join(app, "app.json"), []byte(fmt.Sprintf(`{"title":"t","extends":%s}`, exts[i%len(exts)])), 0o644)
			w.Reload(t.Context(), []runtime.Change{{Layer: 0, Path: "app.json"}, {Layer: i % 3, Path: ""}})
			time.Sleep(7 * time.Millisecond)
		}
	}()
	go func() {
		defer func() { done <- struct{}{} }()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			for _, d := range []string{filepath.Join(app, "inner"), filepath.Join(base, "p1"), filepath.Join(base, "p2")} {
				writeWidget(t, filepath.Join(d, fmt.Sprintf("demo/things/N%d", i%5)), i)
				if i%3 == 0 {
					os.RemoveAll(filepath.Join(d, fmt.Sprintf("demo/things/N%d", (i+2)%5)))
				}
			}
			if i%10 == 0 {
				os.Rename(filepath.Join(base, "p2"), filepath.Join(base, "p2x"))
				os.Rename(filepath.Join(base, "p2x"), filepath.Join(base, "p2"))
			}
			time.Sleep(3 * time.Millisecond)
		}
	}()
	time.Sleep(3 * time.Second)
	close(stop)
	<-done
	<-done
	writeFile(t, filepath.Join(app, "app.json"), `{"title":"t","extends":["../p1","../p2"]}`)
	writeFile(t, filepath.Join(app, "demo/things/Red/Red.json"), `{"size":9}`)
	w.eventually(t, "sentinel", sizeIs("demo.things.Red", 9))
	sameAsFreshLoad(t, w, app)
	if err := w.watcher.Close(); err != nil {
		t.Error(err)
	}
}

// ConfigMap-style swap where the old version stays on disk a while
// (git-sync keeps old worktrees): later edits are in the new version.
func TestWatchConfigMapOldVersionKept(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	cm := filepath.Join(base, "cm")
	mustRun(t, "mkdir", "-p", cm)
	v1 := filepath.Join(cm, "..2026_v1")
	mustRun(t, "cp", "-r", newApp(t), v1)
	os.Symlink("..2026_v1", filepath.Join(cm, "..data"))
	for _, n := range []string{"app.json", "demo"} {
		os.Symlink(filepath.Join("..data", n), filepath.Join(cm, n))
	}
	w := openWatchedWith(t, cm, &syncLog{})
	v2 := filepath.Join(cm, "..2026_v2")
	mustRun(t, "cp", "-r", v1, v2)
	writeFile(t, filepath.Join(v2, "demo/things/Red/Red.json"), `{"size":2}`)
	swapSymlink(t, "..2026_v2", filepath.Join(cm, "..data"))
	w.eventually(t, "the new version", sizeIs("demo.things.Red", 2))
	time.Sleep(300 * time.Millisecond)
	writeFile(t, filepath.Join(v2, "demo/things/Red/Red.json"), `{"size":3}`)
	w.eventually(t, "an edit in the new version", sizeIs("demo.things.Red", 3))
}

// vim's default save of a top-level file (backup renamed aside, new file
// written, backup removed) is an edit, not an rm -rf of the app.
func TestWatchVimSaveOfAppJSONLatency(t *testing.T) {
	t.Parallel()
	dir := newApp(t)
	writeWidget(t, filepath.Join(dir, "drafts/D"), 1)
	w := openDiscovering(t, dir, &syncLog{})
	time.Sleep(200 * time.Millisecond)
	aj := filepath.Join(dir, "app.json")
	os.Rename(aj, aj+"~")
	os.WriteFile(aj, []byte(`{"title":"t","ignore":["drafts"]}`), 0o644)
	os.Remove(aj + "~")
	w.eventually(t, "drafts ignored", func(s *runtime.Snapshot) bool { _, ok := s.Get("drafts.D"); return !ok })
}

func TestWatchIdleNoInotify(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	app := filepath.Join(base, "app")
	mustRun(t, "cp", "-r", newApp(t), app)
	ext := t.TempDir()
	writeWidget(t, filepath.Join(ext, "L"), 1)
	os.Symlink(ext, filepath.Join(app, "shared"))
	writeFile(t, filepath.Join(app, "app.json"), `{"title":"t","extends":["../nope"]}`)
	logs := &syncLog{}
	var adds atomic.Int64
	w := openDiscovering(t, app, logs, counting(&adds), runtime.WithPollInterval(20*time.Millisecond),
		runtime.WithNewWatcher(func() (*fsnotify.Watcher, error) { return nil, syscall.EMFILE }))
	idle(t, w, &adds, logs, time.Second)
	writeFile(t, filepath.Join(ext, "L/L.json"), `{"size":2}`)
	w.eventually(t, "edit", sizeIs("shared.L", 2))
	writeWidget(t, filepath.Join(base, "nope/demo/things/N"), 3)
	w.eventually(t, "parent appears", sizeIs("demo.things.N", 3))
	writeFile(t, filepath.Join(base, "nope/demo/things/N/N.json"), `{"size":4}`)
	w.eventually(t, "edit in parent", sizeIs("demo.things.N", 4))
	idle(t, w, &adds, logs, time.Second)
}

// A file at the top of the app created and removed over and over (a
// SQLite rollback journal, a lock file, a tool's temp file): an element
// edit must still be applied within maxWait plus the grace.
func TestWatchTopLevelFileChurnStarvesReloads(t *testing.T) {
	t.Parallel()
	dir := newApp(t)
	w := openWatchedWith(t, dir, &syncLog{})
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			os.WriteFile(filepath.Join(dir, "data.db-journal"), []byte("x"), 0o644)
			os.Remove(filepath.Join(dir, "data.db-journal"))
		}
	}()
	time.Sleep(300 * time.Millisecond)
	writeFile(t, filepath.Join(dir, "demo/things/Red/Red.json"), `{"size":2}`)
	w.eventually(t, "the edit, within maxWait and the grace", sizeIs("demo.things.Red", 2))
}

func TestWatchCloseChurn(t *testing.T) {
	t.Parallel()
	_, app, w0 := appWithTwoParents(t)
	for i := 0; i < 30; i++ {
		watcher, err := w0.Runtime.Watch(t.Context(), runtime.WithDebounce(time.Millisecond, 5*time.Millisecond), runtime.WithPollInterval(time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(app, "demo/things/Red/Red.json"), fmt.Sprintf(`{"size":%d}`, i))
		time.Sleep(time.Duration(i%5) * time.Millisecond)
		errs := make(chan error, 2)
		go func() { errs <- watcher.Close() }()
		go func() { errs <- watcher.Close() }()
		for range 2 {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
	}
}

// A parent missing for good, polled more often than the debounce: the
// retry on each tick must not hold every edit until maxWait.
func TestWatchRetryTickDelaysEdits(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	app := filepath.Join(base, "app")
	mustRun(t, "cp", "-r", newApp(t), app)
	writeFile(t, filepath.Join(app, "app.json"), `{"title":"t","extends":["../nope"]}`)
	// maxWait beyond the test's wait: only the debounce may apply the edit.
	w := openDiscovering(t, app, &syncLog{}, runtime.WithDebounce(100*time.Millisecond, time.Minute), runtime.WithPollInterval(50*time.Millisecond))
	time.Sleep(500 * time.Millisecond)
	writeFile(t, filepath.Join(app, "demo/things/Red/Red.json"), `{"size":2}`)
	w.eventually(t, "the edit, after the debounce", sizeIs("demo.things.Red", 2))
}

// Two links in one app to the same outside folder: both names are read,
// so an edit there must change both.
func TestWatchTwoLinksOneFolder(t *testing.T) {
	t.Parallel()
	dir := newApp(t)
	ext := t.TempDir()
	writeWidget(t, filepath.Join(ext, "L"), 1)
	os.Symlink(ext, filepath.Join(dir, "a"))
	os.Symlink(ext, filepath.Join(dir, "b"))
	w := openWatchedWith(t, dir, &syncLog{})
	writeFile(t, filepath.Join(ext, "L/L.json"), `{"size":2}`)
	w.eventually(t, "a.L", sizeIs("a.L", 2))
	w.eventually(t, "b.L", sizeIs("b.L", 2))
}

// Same, across two layers: app/lib and p1/lib both link to one folder.
func TestWatchTwoLayersLinkOneFolder(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	app := filepath.Join(base, "app")
	mustRun(t, "cp", "-r", newApp(t), app)
	writeWidget(t, filepath.Join(base, "p1/demo/things/Fromp1"), 7)
	lib := filepath.Join(base, "lib")
	writeWidget(t, filepath.Join(lib, "L"), 1)
	os.Symlink(lib, filepath.Join(app, "lib"))
	os.Symlink(lib, filepath.Join(base, "p1", "lib"))
	writeFile(t, filepath.Join(app, "app.json"), `{"title":"t","extends":["../p1"]}`)
	w := openDiscovering(t, app, &syncLog{})
	writeFile(t, filepath.Join(lib, "L/L.json"), `{"size":2}`)
	w.eventually(t, "lib.L", sizeIs("lib.L", 2))
	writeFile(t, filepath.Join(app, "demo/things/Red/Red.json"), `{"size":2}`)
	w.eventually(t, "sentinel", sizeIs("demo.things.Red", 2))
	sameAsFreshLoad(t, w, app)
}
