package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jitwx/jit/runtime"
)

// Cases an attack review of the watcher found; each failed before its fix.

// Dropping two on-disk parents from extends once indexed the old layer
// list (a panic in the watcher's goroutine, so in the server).
func TestDroppingParentsFromExtends(t *testing.T) {
	t.Parallel()
	base, app, w := appWithTwoParents(t)
	if widgetIn(w.Snapshot(), "demo.things.Fromp2") == nil {
		t.Fatal("p2 not loaded")
	}
	// Through Reload directly too: an edit of a layer that the same batch drops.
	writeFile(t, filepath.Join(app, "app.json"), `{"title":"t","extends":["../p1"]}`)
	writeFile(t, filepath.Join(base, "p2/demo/things/Fromp2/Fromp2.json"), `{"size":8}`)
	if err := w.Reload(context.Background(), []runtime.Change{{Layer: 0, Path: "app.json"}, {Layer: 2, Path: "demo/things/Fromp2/Fromp2.json"}}); err != nil {
		t.Fatal(err)
	}
	writeAtomic(t, filepath.Join(app, "app.json"), `{"title":"t"}`)
	w.eventually(t, "parents gone", func(s *runtime.Snapshot) bool { return widgetIn(s, "demo.things.Fromp1") == nil })
	writeFile(t, filepath.Join(app, "demo/things/Red/Red.json"), `{"size":4}`)
	w.eventually(t, "a later edit", sizeIs("demo.things.Red", 4))
	sameAsFreshLoad(t, w, app)
}

// A parent named through a symlink to the app itself is the app extending
// itself: a cycle, found at once (it used to fan out exponentially).
func TestExtendsThroughSymlinksIsACycle(t *testing.T) {
	t.Parallel()
	app := t.TempDir()
	writeFile(t, filepath.Join(app, "demo/things/X/e.json"), `{"title":"x"}`)
	for _, name := range []string{"a", "b", "c"} {
		if err := os.Symlink(".", filepath.Join(app, name)); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(app, "app.json"), `{"extends":["a","b","c"],"ignore":["a","b","c"]}`)
	_, _, err := runtime.DiscoverLayers(os.DirFS(app), ".", app)
	if !errors.Is(err, runtime.ErrExtendsCycle) {
		t.Errorf("DiscoverLayers = %v, want ErrExtendsCycle", err)
	}
}

// A skipped folder created later (npm install, a build, git init) gets no
// watch, however deep.
func TestSkippedFolderCreatedLaterIsNotWatched(t *testing.T) {
	t.Parallel()
	dir := newApp(t)
	w := openWatchedWith(t, dir, &syncLog{})
	tmp := filepath.Join(t.TempDir(), "node_modules")
	for i := range 50 {
		os.MkdirAll(filepath.Join(tmp, fmt.Sprintf("pkg%d/lib/sub", i)), 0o755)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, ".git/objects/ab"), 0o755)
	os.MkdirAll(filepath.Join(dir, "demo/things/Red/frontend/src"), 0o755)
	writeFile(t, filepath.Join(dir, "demo/things/Red/Red.json"), `{"size":2}`)
	w.eventually(t, "the sentinel edit", sizeIs("demo.things.Red", 2))
	for _, p := range watchList(t, w, dir) {
		if strings.Contains(p, "node_modules") || strings.Contains(p, ".git") || strings.Contains(p, "frontend") {
			t.Errorf("watched: %s", p)
		}
	}
}

// A renamed folder keeps its inotify watches; their events must still
// reach the elements under the new name.
func TestRenamedFolderStaysWatched(t *testing.T) {
	t.Parallel()
	dir := newApp(t)
	writeWidget(t, filepath.Join(dir, "x/A/sub/E"), 1)
	w := openWatchedWith(t, dir, &syncLog{})
	if err := os.Rename(filepath.Join(dir, "x/A"), filepath.Join(dir, "x/B")); err != nil {
		t.Fatal(err)
	}
	w.eventually(t, "x.B.sub.E after the rename", sizeIs("x.B.sub.E", 1))
	writeFile(t, filepath.Join(dir, "x/B/sub/E/E.json"), `{"size":2}`)
	w.eventually(t, "an edit in the renamed folder", sizeIs("x.B.sub.E", 2))
	if err := os.Rename(filepath.Join(dir, "x"), filepath.Join(dir, "y")); err != nil {
		t.Fatal(err)
	}
	w.eventually(t, "y.B.sub.E after renaming the namespace", sizeIs("y.B.sub.E", 2))
	writeFile(t, filepath.Join(dir, "y/B/sub/E/E.json"), `{"size":3}`)
	w.eventually(t, "an edit in the renamed namespace", sizeIs("y.B.sub.E", 3))
	sameAsFreshLoad(t, w, dir)
}

// A release swapped in by a symlink is read whole, its app.json included.
func TestSwappedReleaseRereadsAppJSON(t *testing.T) {
	t.Parallel()
	_, current := releases(t, nil, func(r2 string) {
		writeFile(t, filepath.Join(r2, "app.json"), `{"title":"r2","ignore":["drafts"]}`)
		writeWidget(t, filepath.Join(r2, "drafts/D"), 1)
	})
	w := openWatchedWith(t, current, &syncLog{})
	swapSymlink(t, "release-2", current)
	w.eventually(t, "release-2 read", sizeIs("demo.things.Red", 2))
	sameAsFreshLoad(t, w, current)
}

// The folder holding the app replaced (rm -rf site && cp -r build site, or
// mv site site.old && cp -r build site): the app is found again.
func TestFolderHoldingTheAppReplaced(t *testing.T) {
	t.Parallel()
	for _, move := range []bool{false, true} {
		t.Run(fmt.Sprint("mv=", move), func(t *testing.T) {
			t.Parallel()
			base := t.TempDir()
			site := filepath.Join(base, "site")
			app := filepath.Join(site, "app")
			mustRun(t, "mkdir", "-p", site)
			mustRun(t, "cp", "-r", newApp(t), app)
			mustRun(t, "cp", "-r", site, filepath.Join(base, "build"))
			w := watch(t, open(t, app), runtime.WithDebounce(20*time.Millisecond, 500*time.Millisecond), runtime.WithPollInterval(50*time.Millisecond))
			if move {
				mustRun(t, "mv", site, site+".old")
			} else {
				mustRun(t, "rm", "-rf", site)
				w.eventually(t, "the folder reported missing", func(s *runtime.Snapshot) bool { return len(s.MissingFolders()) == 1 })
			}
			mustRun(t, "cp", "-r", filepath.Join(base, "build"), site)
			w.eventually(t, "the folder back", func(s *runtime.Snapshot) bool { return len(s.MissingFolders()) == 0 })
			writeFile(t, filepath.Join(app, "demo/things/Red/Red.json"), `{"size":3}`)
			w.eventually(t, "an edit in the new folder", sizeIs("demo.things.Red", 3))
		})
	}
}

// A folder that stops being an element: its frontend/ is read now, and
// watched; one that becomes an element: its frontend/ is no longer either.
func TestCodeFoldersFollowTheElement(t *testing.T) {
	t.Parallel()
	dir := newApp(t)
	writeFile(t, filepath.Join(dir, "x/A/e.json"), `{"title":"A"}`)
	writeWidget(t, filepath.Join(dir, "x/A/frontend/B"), 1)
	w := openWatchedWith(t, dir, &syncLog{})
	if err := os.Remove(filepath.Join(dir, "x/A/e.json")); err != nil {
		t.Fatal(err)
	}
	w.eventually(t, "x.A.frontend.B read once A is no element", sizeIs("x.A.frontend.B", 1))
	writeFile(t, filepath.Join(dir, "x/A/frontend/B/B.json"), `{"size":2}`)
	w.eventually(t, "an edit in x/A/frontend/B", sizeIs("x.A.frontend.B", 2))
	writeFile(t, filepath.Join(dir, "x/A/e.json"), `{"title":"A"}`)
	w.eventually(t, "x.A.frontend.B gone once A is an element again", func(s *runtime.Snapshot) bool { return widgetIn(s, "x.A.frontend.B") == nil })
	for _, p := range watchList(t, w, dir) {
		if strings.Contains(p, "frontend") {
			t.Errorf("still watched: %s", p)
		}
	}
	sameAsFreshLoad(t, w, dir)
}

// A parent app inside its child's folder: its events belong to it.
func TestNestedParentLayer(t *testing.T) {
	t.Parallel()
	app := t.TempDir()
	mustRun(t, "cp", "-r", newApp(t)+"/.", app)
	writeFile(t, filepath.Join(app, "app.json"), `{"title":"t","extends":["./base"],"ignore":["base"]}`)
	writeWidget(t, filepath.Join(app, "base/demo/things/P"), 1)
	w := openDiscovering(t, app, &syncLog{})
	for i := 2; i < 8; i++ {
		writeFile(t, filepath.Join(app, "base/demo/things/P/P.json"), fmt.Sprintf(`{"size":%d}`, i))
		w.eventually(t, fmt.Sprintf("edit %d in the nested parent", i), sizeIs("demo.things.P", float64(i)))
	}
}

// An app.json with a syntax error applies nothing: its ignore list stays.
func TestBrokenAppJSONKeepsIgnore(t *testing.T) {
	t.Parallel()
	dir := newApp(t)
	writeFile(t, filepath.Join(dir, "app.json"), `{"title":"t","ignore":["drafts"]}`)
	writeWidget(t, filepath.Join(dir, "drafts/D"), 1)
	w := openDiscovering(t, dir, &syncLog{})
	writeAtomic(t, filepath.Join(dir, "app.json"), `{"title":"t","ignore":["drafts"],}`)
	w.eventually(t, "the syntax error", func(s *runtime.Snapshot) bool { return s.Problems().HasErrors() })
	writeFile(t, filepath.Join(dir, "demo/things/Red/Red.json"), `{"size":2}`)
	w.eventually(t, "the sentinel edit", sizeIs("demo.things.Red", 2))
	if _, ok := w.Snapshot().Get("drafts.D"); ok {
		t.Errorf("drafts.D is live while app.json, which ignores it, has a syntax error")
	}
}

// A second app.json save right after the first is applied.
func TestQuickSecondAppJSONSave(t *testing.T) {
	t.Parallel()
	dir := newApp(t)
	for i := range 1000 {
		os.MkdirAll(filepath.Join(dir, fmt.Sprintf("bulk/f%d/g", i)), 0o755)
	}
	writeWidget(t, filepath.Join(dir, "drafts/D"), 1)
	logs := &syncLog{}
	w := openDiscovering(t, dir, logs)
	writeAtomic(t, filepath.Join(dir, "app.json"), `{"title":"renamed"}`)
	for deadline := time.Now().Add(waitTimeout); !strings.Contains(logs.String(), `keys=[title]`); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("first save never applied:\n%s", logs)
		}
	}
	writeAtomic(t, filepath.Join(dir, "app.json"), `{"title":"renamed","ignore":["drafts"]}`)
	w.eventually(t, "drafts ignored by the second save", func(s *runtime.Snapshot) bool { _, ok := s.Get("drafts.D"); return !ok })
}

// A symlink to / costs no more watches than the scan reads folders, and a
// link that sorts before the folder it names does not take its events.
func TestSymlinksDoNotMultiplyWatches(t *testing.T) {
	t.Parallel()
	dir := newApp(t)
	writeWidget(t, filepath.Join(dir, "zone/E"), 1)
	if err := os.Symlink("zone", filepath.Join(dir, "alink")); err != nil {
		t.Fatal(err)
	}
	w := openWatchedWith(t, dir, &syncLog{})
	writeFile(t, filepath.Join(dir, "zone/E/E.json"), `{"size":2}`)
	w.eventually(t, "an edit in zone", sizeIs("zone.E", 2))
	sameAsFreshLoad(t, w, dir)
	for _, p := range watchList(t, w, dir) {
		if strings.HasPrefix(p, "alink") {
			t.Errorf("watched under the link's name: %s", p)
		}
	}
}

// An e.json that is a dangling link makes no element, for the scan and
// for the watcher alike.
func TestDanglingEJSONLink(t *testing.T) {
	t.Parallel()
	dir := newApp(t)
	writeWidget(t, filepath.Join(dir, "x/A/frontend/B"), 1)
	if err := os.Symlink("nowhere", filepath.Join(dir, "x/A/e.json")); err != nil {
		t.Fatal(err)
	}
	w := openWatchedWith(t, dir, &syncLog{})
	writeFile(t, filepath.Join(dir, "x/A/frontend/B/B.json"), `{"size":2}`)
	w.eventually(t, "an edit under the would-be element", sizeIs("x.A.frontend.B", 2))
	sameAsFreshLoad(t, w, dir)
}

// The ignore list is bounded: every pattern is tried on every folder.
func TestIgnoreListIsBounded(t *testing.T) {
	t.Parallel()
	dir := newApp(t)
	var b strings.Builder
	b.WriteString(`{"ignore":["z*"`)
	for i := range 1000 {
		fmt.Fprintf(&b, `,"z%d*"`, i)
	}
	b.WriteString(`]}`)
	writeFile(t, filepath.Join(dir, "app.json"), b.String())
	if got := problemLines(open(t, dir).Snapshot().Problems()); len(got) != 1 || got[0] != "error app.json: ignore: 1001 entries; at most 1000" {
		t.Errorf("problems: %q", got)
	}
}

// appWithTwoParents opens base/app, which extends ../p1 and ../p2, each
// with one element (demo.things.Fromp1, demo.things.Fromp2).
func appWithTwoParents(t *testing.T) (base, app string, w *watched) {
	t.Helper()
	base = t.TempDir()
	app = filepath.Join(base, "app")
	mustRun(t, "cp", "-r", newApp(t), app)
	for _, p := range []string{"p1", "p2"} {
		writeWidget(t, filepath.Join(base, p, "demo/things/From"+p), 7)
	}
	writeFile(t, filepath.Join(app, "app.json"), `{"title":"t","extends":["../p1","../p2"]}`)
	return base, app, openDiscovering(t, app, &syncLog{})
}

// writeWidget writes a WidgetType instance into the folder dir.
func writeWidget(t *testing.T, dir string, size int) {
	t.Helper()
	writeFile(t, filepath.Join(dir, "e.json"), `{"type":"demo.things.WidgetType"}`)
	writeFile(t, filepath.Join(dir, filepath.Base(dir)+".json"), fmt.Sprintf(`{"size":%d}`, size))
}

// releases lays out base/release-1 (newApp, then prepare1) and release-2 (a
// copy, then prepare2, where Red has size 2), with base/current linking to
// release-1, as symlink deploys do. It returns base and current.
func releases(t *testing.T, prepare1, prepare2 func(dir string)) (base, current string) {
	t.Helper()
	base = t.TempDir()
	r1, r2 := filepath.Join(base, "release-1"), filepath.Join(base, "release-2")
	mustRun(t, "cp", "-r", newApp(t), r1)
	if prepare1 != nil {
		prepare1(r1)
	}
	mustRun(t, "cp", "-r", r1, r2)
	writeFile(t, filepath.Join(r2, "demo/things/Red/Red.json"), `{"size":2}`)
	if prepare2 != nil {
		prepare2(r2)
	}
	current = filepath.Join(base, "current")
	if err := os.Symlink("release-1", current); err != nil {
		t.Fatal(err)
	}
	return base, current
}

// swapSymlink points link at target the way deploy tools do: a new link
// renamed over the old one.
func swapSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link+".tmp"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(link+".tmp", link); err != nil {
		t.Fatal(err)
	}
}

// watchList is the watcher's watches, relative to dir.
func watchList(t *testing.T, w *watched, dir string) []string {
	t.Helper()
	var out []string
	for _, p := range w.watcher.WatchList() {
		if rel, err := filepath.Rel(dir, p); err == nil && !strings.HasPrefix(rel, "..") {
			out = append(out, filepath.ToSlash(rel))
		}
	}
	return out
}

// rm -rf of the whole app, slow on a big node_modules, keeps the last good
// elements: the reload waits for the folder to be gone.
func TestSlowRemovalOfTheAppKeepsElements(t *testing.T) {
	t.Parallel()
	app := filepath.Join(t.TempDir(), "app")
	mustRun(t, "cp", "-r", newApp(t), app)
	for i := range 100 {
		for j := range 50 {
			writeFile(t, filepath.Join(app, fmt.Sprintf("node_modules/p%d/f%d.js", i, j)), "x")
		}
	}
	w := openWatchedWith(t, app, &syncLog{})
	os.RemoveAll(filepath.Join(app, "demo")) // rm -rf reaches demo/ before node_modules/
	os.RemoveAll(filepath.Join(app, "node_modules"))
	os.RemoveAll(app)
	w.eventually(t, "the folder reported missing", func(s *runtime.Snapshot) bool { return len(s.MissingFolders()) == 1 })
	if widgetIn(w.Snapshot(), "demo.things.Red") == nil {
		t.Errorf("Red is gone while the folder is missing; the last good elements should serve")
	}
}

// Cases a second attack review found in the reworked watcher.

// An app opened as "." (jit serve --app .) reloads like any other.
func TestAppOpenedAsDot(t *testing.T) {
	dir := newApp(t)
	t.Chdir(dir)
	w := openWatchedWith(t, ".", &syncLog{})
	writeFile(t, filepath.Join(dir, "demo/things/Red/Red.json"), `{"size":2}`)
	w.eventually(t, "an edit in an app opened as .", sizeIs("demo.things.Red", 2))
}

// Layers changed by a direct Reload are watched as they are now.
func TestDirectReloadChangesLayers(t *testing.T) {
	t.Parallel()
	base, app, w := appWithTwoParents(t)
	writeFile(t, filepath.Join(app, "app.json"), `{"title":"t","extends":["../p2"]}`)
	if err := w.Reload(context.Background(), []runtime.Change{{Layer: 0, Path: "app.json"}}); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(base, "p2/demo/things/Fromp2/Fromp2.json"), `{"size":8}`)
	w.eventually(t, "an edit in p2, now the second layer", sizeIs("demo.things.Fromp2", 8))
	writeFile(t, filepath.Join(base, "p1/demo/things/Fromp1/Fromp1.json"), `{"size":9}`)
	writeFile(t, filepath.Join(app, "demo/things/Red/Red.json"), `{"size":2}`)
	w.eventually(t, "the sentinel", sizeIs("demo.things.Red", 2))
	sameAsFreshLoad(t, w, app)
}

// Files get no watches, however many are created.
func TestFilesGetNoWatch(t *testing.T) {
	t.Parallel()
	dir := newApp(t)
	w := openWatchedWith(t, dir, &syncLog{})
	for _, n := range []string{"index.ts", "notes.md", "extra.json"} {
		writeFile(t, filepath.Join(dir, "demo/things/Red", n), "x")
	}
	writeAtomic(t, filepath.Join(dir, "app.json"), `{"title":"t"}`)
	writeFile(t, filepath.Join(dir, "README.md"), "x")
	writeFile(t, filepath.Join(dir, "demo/things/Red/Red.json"), `{"size":2}`)
	w.eventually(t, "the sentinel", sizeIs("demo.things.Red", 2))
	for _, p := range watchList(t, w, dir) {
		if fi, err := os.Stat(filepath.Join(dir, p)); err == nil && !fi.IsDir() {
			t.Errorf("a file has a watch: %s", p)
		}
	}
}

// A folder moved away and another put at its path in one burst: the new
// one is watched under the path, the old one under its new name.
func TestFolderSwappedAtTheSamePath(t *testing.T) {
	t.Parallel()
	dir := newApp(t)
	w := openWatchedWith(t, dir, &syncLog{})
	prep := filepath.Join(t.TempDir(), "demo")
	mustRun(t, "cp", "-r", filepath.Join(dir, "demo"), prep)
	if err := os.Rename(filepath.Join(dir, "demo"), filepath.Join(dir, "demo_old")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(prep, filepath.Join(dir, "demo")); err != nil {
		t.Fatal(err)
	}
	w.eventually(t, "demo_old read", sizeIs("demo_old.things.Red", 1))
	writeFile(t, filepath.Join(dir, "demo/things/Red/Red.json"), `{"size":5}`)
	w.eventually(t, "an edit in the new demo", sizeIs("demo.things.Red", 5))
	writeFile(t, filepath.Join(dir, "demo_old/things/Red/Red.json"), `{"size":6}`)
	w.eventually(t, "an edit in demo_old", sizeIs("demo_old.things.Red", 6))
	sameAsFreshLoad(t, w, dir)
}

// A symlinked folder pointed elsewhere (ln -sfn) is watched at its new target.
func TestSymlinkRetargeted(t *testing.T) {
	t.Parallel()
	dir := newApp(t)
	a, b := t.TempDir(), t.TempDir()
	for _, d := range []string{a, b} {
		writeWidget(t, filepath.Join(d, "Linked"), 1)
	}
	if err := os.Symlink(a, filepath.Join(dir, "shared")); err != nil {
		t.Fatal(err)
	}
	w := openWatchedWith(t, dir, &syncLog{})
	writeFile(t, filepath.Join(b, "Linked/Linked.json"), `{"size":2}`)
	mustRun(t, "ln", "-sfn", b, filepath.Join(dir, "shared"))
	w.eventually(t, "the new target read", sizeIs("shared.Linked", 2))
	writeFile(t, filepath.Join(b, "Linked/Linked.json"), `{"size":3}`)
	w.eventually(t, "an edit in the new target", sizeIs("shared.Linked", 3))
	sameAsFreshLoad(t, w, dir)
}

// The removal grace holds however many other events follow.
func TestRemovalGraceOutlastsOtherEvents(t *testing.T) {
	t.Parallel()
	app := filepath.Join(t.TempDir(), "app")
	mustRun(t, "cp", "-r", newApp(t), app)
	writeFile(t, filepath.Join(app, "models/__init__.py"), "")
	w := openWatchedWith(t, app, &syncLog{})
	os.RemoveAll(filepath.Join(app, "demo"))
	os.Remove(filepath.Join(app, "models/__init__.py"))
	time.Sleep(300 * time.Millisecond)
	if widgetIn(w.Snapshot(), "demo.things.Red") == nil {
		t.Errorf("Red removed 300ms into an rm -rf of the app (the grace is 1s)")
	}
	os.RemoveAll(app)
	w.eventually(t, "the folder reported missing", func(s *runtime.Snapshot) bool { return len(s.MissingFolders()) == 1 })
	if widgetIn(w.Snapshot(), "demo.things.Red") == nil {
		t.Errorf("Red is gone while the folder is missing")
	}
}

// A folder two layers read (a parent inside its child, not ignored) is
// updated in both.
func TestFolderReadByTwoLayers(t *testing.T) {
	t.Parallel()
	app := t.TempDir()
	mustRun(t, "cp", "-r", newApp(t)+"/.", app)
	writeFile(t, filepath.Join(app, "app.json"), `{"title":"t","extends":["./base"]}`)
	writeWidget(t, filepath.Join(app, "base/demo/things/P"), 1)
	w := openDiscovering(t, app, &syncLog{})
	writeFile(t, filepath.Join(app, "base/demo/things/P/P.json"), `{"size":2}`)
	w.eventually(t, "the edit in the parent layer", sizeIs("demo.things.P", 2))
	w.eventually(t, "the edit in the app's copy", sizeIs("base.demo.things.P", 2))
	sameAsFreshLoad(t, w, app)
}

// A parent app that extends names but that is not there yet is loaded
// when it appears; when the parent goes, its folder's watch goes too.
func TestParentAppearsLater(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	app := filepath.Join(base, "app")
	mustRun(t, "cp", "-r", newApp(t), app)
	writeFile(t, filepath.Join(app, "app.json"), `{"title":"t","extends":["../shared/p1"]}`)
	w := openDiscovering(t, app, &syncLog{}, runtime.WithPollInterval(50*time.Millisecond))
	tmp := filepath.Join(t.TempDir(), "p1")
	writeWidget(t, filepath.Join(tmp, "demo/things/FromP1"), 7)
	os.MkdirAll(filepath.Join(base, "shared"), 0o755)
	mustRun(t, "mv", tmp, filepath.Join(base, "shared/p1"))
	w.eventually(t, "the parent's element", sizeIs("demo.things.FromP1", 7))
	sameAsFreshLoad(t, w, app)
	writeAtomic(t, filepath.Join(app, "app.json"), `{"title":"t"}`)
	w.eventually(t, "the parent dropped", func(s *runtime.Snapshot) bool { return widgetIn(s, "demo.things.FromP1") == nil })
	time.Sleep(200 * time.Millisecond)
	for _, p := range w.watcher.WatchList() {
		if strings.HasPrefix(p, filepath.Join(base, "shared")) {
			t.Errorf("still watched: %s", p)
		}
	}
}

// A folder whose name ends in ~ is read, so it is watched like any other.
func TestTildeFolder(t *testing.T) {
	t.Parallel()
	dir := newApp(t)
	w := openWatchedWith(t, dir, &syncLog{})
	if err := os.Rename(filepath.Join(dir, "demo/things/Red"), filepath.Join(dir, "demo/things/Red~")); err != nil {
		t.Fatal(err)
	}
	w.eventually(t, "Red gone", func(s *runtime.Snapshot) bool { return widgetIn(s, "demo.things.Red") == nil })
	sameAsFreshLoad(t, w, dir)
}
