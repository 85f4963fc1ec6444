package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jitwx/jit/elements"
	"github.com/jitwx/jit/runtime"
)

// waitTimeout bounds every wait for a reload; reloads take milliseconds.
const waitTimeout = 10 * time.Second

// newApp writes a small app: a Meta, WidgetType with defaults, and the
// instance demo.things.Red.
func newApp(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "app.json"), `{"title":"reload test"}`)
	writeFile(t, filepath.Join(dir, "demo/things/Meta/e.json"), `{"title":"Meta"}`)
	writeFile(t, filepath.Join(dir, "demo/things/WidgetType/e.json"), `{"title":"Widget","type":"demo.things.Meta"}`)
	writeFile(t, filepath.Join(dir, "demo/things/WidgetType/WidgetType.json"), `{"color":"red","label":"default"}`)
	writeFile(t, filepath.Join(dir, "demo/things/Red/e.json"), `{"title":"Red","type":"demo.things.WidgetType"}`)
	writeFile(t, filepath.Join(dir, "demo/things/Red/Red.json"), `{"size":1}`)
	return dir
}

// watched is a runtime with a real fsnotify watcher and a reload counter.
type watched struct {
	*runtime.Runtime
	watcher *runtime.Watcher
	reloads atomic.Int64
	signal  chan struct{}
}

func openWatched(t *testing.T, dir string) *watched {
	t.Helper()
	return watch(t, open(t, dir))
}

// watch starts a watcher on rt that counts its reloads.
func watch(t *testing.T, rt *runtime.Runtime, opts ...runtime.WatchOption) *watched {
	t.Helper()
	w := &watched{Runtime: rt, signal: make(chan struct{}, 1)}
	opts = append([]runtime.WatchOption{
		runtime.WithDebounce(20*time.Millisecond, 500*time.Millisecond),
		runtime.WithReloadHook(func(err error) {
			if err != nil {
				t.Errorf("reload: %v", err)
			}
			w.reloads.Add(1)
			select {
			case w.signal <- struct{}{}:
			default:
			}
		}),
	}, opts...)
	watcher, err := rt.Watch(context.Background(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	w.watcher = watcher
	t.Cleanup(func() {
		if err := watcher.Close(); err != nil {
			t.Errorf("watcher.Close: %v", err)
		}
		watcher.Close() // idempotent
	})
	return w
}

// eventually waits, with a deadline, until cond holds after some reload.
func (w *watched) eventually(t *testing.T, what string, cond func(*runtime.Snapshot) bool) {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(25 * time.Millisecond) // in case the signal was consumed by an earlier wait
	defer tick.Stop()
	for !cond(w.Snapshot()) {
		select {
		case <-w.signal:
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("timed out after %v waiting for %s; %d reloads; problems:\n%s", waitTimeout, what,
				w.reloads.Load(), strings.Join(problemLines(w.Snapshot().Problems()), "\n"))
		}
	}
}

func widgetIn(s *runtime.Snapshot, name string) *Widget {
	if e, ok := s.Get(name); ok {
		w, _ := e.Object.(*Widget)
		return w
	}
	return nil
}

func sizeIs(name string, size float64) func(*runtime.Snapshot) bool {
	return func(s *runtime.Snapshot) bool {
		w := widgetIn(s, name)
		return w != nil && w.Size == size
	}
}

func hasProblem(line string) func(*runtime.Snapshot) bool {
	return func(s *runtime.Snapshot) bool { return slices.Contains(problemLines(s.Problems()), line) }
}

func noProblems(s *runtime.Snapshot) bool { return len(s.Problems()) == 0 }

func TestReloadEditConfig(t *testing.T) {
	t.Parallel()
	dir := newApp(t)
	rt := openWatched(t, dir)
	old := widget(t, rt.Runtime, "demo.things.Red")
	oldHelper := get(t, rt.Runtime, "demo.things.Red.services.Helper").Object
	gen := rt.Snapshot().Generation()

	writeFile(t, filepath.Join(dir, "demo/things/Red/Red.json"), `{"size":2,"label":"edited"}`)
	rt.eventually(t, "size 2", sizeIs("demo.things.Red", 2))

	now := widget(t, rt.Runtime, "demo.things.Red")
	if now.Label != "edited" || now.Color != "red" {
		t.Errorf("after edit: %+v", now)
	}
	if h := get(t, rt.Runtime, "demo.things.Red.services.Helper").Object.(*WidgetHelper); h == oldHelper || h.Owner != now {
		t.Error("sub-element not rebuilt with its instance")
	}
	if c := old.cleanups.Load(); c != 1 {
		t.Errorf("old object cleaned up %d times, want 1", c)
	}
	if c := now.cleanups.Load(); c != 0 {
		t.Errorf("live object cleaned up %d times", c)
	}
	if rt.Snapshot().Generation() <= gen {
		t.Error("generation did not grow")
	}
	// Untouched elements keep their objects.
	if a, b := get(t, rt.Runtime, "demo.things.Meta").Object, get(t, rt.Runtime, "demo.things.Meta").Object; a != b {
		t.Error("unchanged Meta rebuilt")
	}
}

func TestReloadTypeDefaults(t *testing.T) {
	t.Parallel()
	dir := newApp(t)
	writeFile(t, filepath.Join(dir, "demo/things/Blue/e.json"), `{"type":"demo.things.WidgetType"}`)
	writeFile(t, filepath.Join(dir, "demo/things/Blue/Blue.json"), `{"size":5,"color":"blue"}`)
	rt := openWatched(t, dir)
	red, blue := widget(t, rt.Runtime, "demo.things.Red"), widget(t, rt.Runtime, "demo.things.Blue")

	// Editing the Type's defaults rebuilds every instance of it.
	writeFile(t, filepath.Join(dir, "demo/things/WidgetType/WidgetType.json"), `{"color":"green","label":"new default"}`)
	rt.eventually(t, "new defaults", func(s *runtime.Snapshot) bool {
		r, b := widgetIn(s, "demo.things.Red"), widgetIn(s, "demo.things.Blue")
		return r.Color == "green" && r.Label == "new default" && b.Color == "blue" && b.Label == "new default"
	})
	if red.cleanups.Load() != 1 || blue.cleanups.Load() != 1 {
		t.Errorf("cleanups: red %d blue %d", red.cleanups.Load(), blue.cleanups.Load())
	}
}

func TestReloadAtomicSave(t *testing.T) {
	t.Parallel()
	dir := newApp(t)
	rt := openWatched(t, dir)
	cfg := filepath.Join(dir, "demo/things/Red/Red.json")
	for i := 2; i <= 4; i++ {
		// Editors write a temp file next to the target, then rename it over.
		tmp := filepath.Join(dir, "demo/things/Red", fmt.Sprintf(".Red.json.swp%d", i))
		writeFile(t, tmp, fmt.Sprintf(`{"size":%d}`, i))
		if err := os.Rename(tmp, cfg); err != nil {
			t.Fatal(err)
		}
		rt.eventually(t, fmt.Sprintf("size %d", i), sizeIs("demo.things.Red", float64(i)))
	}
	// A backup-style save (Red.json~ then rename).
	writeFile(t, cfg+"~", `{"size":9}`)
	if err := os.Rename(cfg+"~", cfg); err != nil {
		t.Fatal(err)
	}
	rt.eventually(t, "size 9", sizeIs("demo.things.Red", 9))
}

func TestReloadConfigMapSymlinkSwap(t *testing.T) {
	t.Parallel()
	dir := newApp(t)
	el := filepath.Join(dir, "demo/things/CM")
	writeFile(t, filepath.Join(el, "..2024_01/e.json"), `{"title":"from ConfigMap","type":"demo.things.WidgetType"}`)
	writeFile(t, filepath.Join(el, "..2024_01/CM.json"), `{"size":1}`)
	for _, l := range [][2]string{{"..2024_01", "..data"}, {"..data/e.json", "e.json"}, {"..data/CM.json", "CM.json"}} {
		if err := os.Symlink(l[0], filepath.Join(el, l[1])); err != nil {
			t.Fatal(err)
		}
	}
	rt := openWatched(t, dir)
	if w := widget(t, rt.Runtime, "demo.things.CM"); w.Size != 1 {
		t.Fatalf("CM = %+v", w)
	}
	old := widget(t, rt.Runtime, "demo.things.CM")

	// What the kubelet does when the ConfigMap changes.
	swap := func(from, to, cfg string) {
		writeFile(t, filepath.Join(el, to, "e.json"), `{"title":"from ConfigMap","type":"demo.things.WidgetType"}`)
		writeFile(t, filepath.Join(el, to, "CM.json"), cfg)
		if err := os.Symlink(to, filepath.Join(el, "..data_tmp")); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(el, "..data_tmp"), filepath.Join(el, "..data")); err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(filepath.Join(el, from)); err != nil {
			t.Fatal(err)
		}
	}
	swap("..2024_01", "..2024_02", `{"size":2,"label":"swapped"}`)
	rt.eventually(t, "size 2 after the ..data swap", sizeIs("demo.things.CM", 2))
	if old.cleanups.Load() != 1 {
		t.Errorf("old ConfigMap object cleaned up %d times", old.cleanups.Load())
	}
	swap("..2024_02", "..2024_03", `{"size":3}`)
	rt.eventually(t, "size 3 after the second swap", sizeIs("demo.things.CM", 3))
	if !noProblems(rt.Snapshot()) {
		t.Errorf("problems: %q", problemLines(rt.Snapshot().Problems()))
	}
}

func TestReloadAddRemoveFolder(t *testing.T) {
	t.Parallel()
	dir := newApp(t)
	rt := openWatched(t, dir)

	// A new element folder appears.
	writeFile(t, filepath.Join(dir, "demo/things/New/New.json"), `{"size":7}`)
	writeFile(t, filepath.Join(dir, "demo/things/New/e.json"), `{"type":"demo.things.WidgetType"}`)
	rt.eventually(t, "demo.things.New", sizeIs("demo.things.New", 7))
	get(t, rt.Runtime, "demo.things.New.services.Helper")

	// A whole new tree at once, several folders deep (mkdir -p, then files).
	nested := filepath.Join(dir, "deep/a/b/c/Deep")
	writeFile(t, filepath.Join(nested, "e.json"), `{"type":"demo.things.WidgetType"}`)
	writeFile(t, filepath.Join(nested, "Deep.json"), `{"size":8}`)
	rt.eventually(t, "deep.a.b.c.Deep", sizeIs("deep.a.b.c.Deep", 8))
	// ...whose new folders are watched too.
	writeFile(t, filepath.Join(nested, "Deep.json"), `{"size":9}`)
	rt.eventually(t, "deep edit", sizeIs("deep.a.b.c.Deep", 9))

	// Removing folders makes their elements unknown, and cleans them up.
	newObj := widget(t, rt.Runtime, "demo.things.New")
	if err := os.RemoveAll(filepath.Join(dir, "demo/things/New")); err != nil {
		t.Fatal(err)
	}
	gone := func(names ...string) func(*runtime.Snapshot) bool {
		return func(s *runtime.Snapshot) bool {
			for _, n := range names {
				if _, ok := s.Get(n); ok {
					return false
				}
			}
			return true
		}
	}
	rt.eventually(t, "demo.things.New removed", gone("demo.things.New", "demo.things.New.services.Helper"))
	if newObj.cleanups.Load() != 1 {
		t.Errorf("removed object cleaned up %d times", newObj.cleanups.Load())
	}
	if err := os.RemoveAll(filepath.Join(dir, "deep")); err != nil {
		t.Fatal(err)
	}
	rt.eventually(t, "deep removed", gone("deep.a.b.c.Deep"))
	get(t, rt.Runtime, "demo.things.Red")
	if !noProblems(rt.Snapshot()) {
		t.Errorf("problems: %q", problemLines(rt.Snapshot().Problems()))
	}

	// Removing a Type makes its instances unknown, and bringing it back
	// brings them back.
	typeDir := filepath.Join(dir, "demo/things/WidgetType")
	if err := os.Rename(typeDir, filepath.Join(dir, "WidgetType.bak")); err != nil {
		t.Fatal(err)
	}
	// WidgetType is also registered in Go, so Red falls back to it: no
	// defaults now, but still a Widget.
	rt.eventually(t, "Red without defaults", func(s *runtime.Snapshot) bool {
		w := widgetIn(s, "demo.things.Red")
		_, typeFolder := s.Get(WidgetType)
		return !typeFolder && w != nil && w.Color == "" && w.Size == 1
	})
	if err := os.Rename(filepath.Join(dir, "WidgetType.bak"), typeDir); err != nil {
		t.Fatal(err)
	}
	rt.eventually(t, "Type back", func(s *runtime.Snapshot) bool {
		w := widgetIn(s, "demo.things.Red")
		return w != nil && w.Color == "red" && noProblems(s)
	})
}

func TestReloadBrokenEditKeepsLastGood(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		file    string // relative to demo/things/Red
		broken  string
		problem string
	}{
		{"bad JSON config", "Red.json", `{"size": 2,`, "error demo/things/Red/Red.json: not valid JSON: line 1, column 12: the file ends too early (a missing } or ]?)"},
		{"bad JSON e.json", "e.json", `{"type":`, "error demo/things/Red/e.json: not valid JSON: line 1, column 9: the file ends too early (a missing } or ]?)"},
		{"config not an object", "Red.json", `[]`, "error demo/things/Red/Red.json: must be a JSON object"},
		{"missing required field", "Red.json", `{"label":"no size"}`, "error demo/things/Red/Red.json: size: required"},
		{"wrong enum", "Red.json", `{"size":1,"color":"pink"}`, `error demo/things/Red/Red.json: color: must be one of "red", "green", "blue"`},
		{"unknown type (typo)", "e.json", `{"type":"demo.things.WidgetTyp"}`,
			"error demo/things/Red/e.json: type: unknown type demo.things.WidgetTyp (did you mean demo.things.WidgetType?)"},
		{"instance typed by an instance", "e.json", `{"type":"demo.things.Other"}`,
			"error demo/things/Red/e.json: type: demo.things.Other is an instance, not a Type: an element's type must be a Meta or a Type"},
		{"provision fails", "Red.json", `{"size":1,"failProvision":true}`, "error demo/things/Red/Red.json: provision refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := newApp(t)
			writeFile(t, filepath.Join(dir, "demo/things/Other/e.json"), `{"type":"demo.things.WidgetType"}`)
			writeFile(t, filepath.Join(dir, "demo/things/Other/Other.json"), `{"size":3}`)
			rt := openWatched(t, dir)
			good := widget(t, rt.Runtime, "demo.things.Red")
			file := filepath.Join(dir, "demo/things/Red", tc.file)
			orig, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}

			writeFile(t, file, tc.broken)
			rt.eventually(t, tc.problem, hasProblem(tc.problem))
			snap := rt.Snapshot()
			if w := widgetIn(snap, "demo.things.Red"); w != good {
				t.Fatalf("last good version replaced by %+v", w)
			}
			if _, ok := snap.Get("demo.things.Red.services.Helper"); !ok {
				t.Error("last good version's sub-element gone")
			}
			if good.cleanups.Load() != 0 {
				t.Error("live last good version was cleaned up")
			}
			for _, p := range snap.Problems() {
				if p.Element != "demo.things.Red" || !errors.Is(p, elements.ErrInvalid) {
					t.Errorf("unexpected problem %q (element %q)", p, p.Element)
				}
			}
			// Everything else keeps working, and keeps reloading.
			writeFile(t, filepath.Join(dir, "demo/things/Other/Other.json"), `{"size":4}`)
			rt.eventually(t, "Other reloads", sizeIs("demo.things.Other", 4))
			if !hasProblem(tc.problem)(rt.Snapshot()) {
				t.Errorf("problem forgotten after an unrelated reload: %q", problemLines(rt.Snapshot().Problems()))
			}

			// Fixing the file recovers.
			fixed := `{"size":5}`
			if tc.file == "e.json" {
				fixed = string(orig)
			}
			writeFile(t, file, fixed)
			wantSize := 5.0
			if tc.file == "e.json" {
				wantSize = 1
			}
			rt.eventually(t, "recovered", func(s *runtime.Snapshot) bool { return sizeIs("demo.things.Red", wantSize)(s) && noProblems(s) })
			// An e.json that never parsed left the last good definition in
			// place, so restoring it changes nothing and rebuilds nothing.
			wantCleanups := int32(1)
			if widget(t, rt.Runtime, "demo.things.Red") == good {
				wantCleanups = 0
				if tc.name != "bad JSON e.json" {
					t.Error("fixed element not rebuilt")
				}
			}
			if good.cleanups.Load() != wantCleanups {
				t.Errorf("last good version cleaned up %d times after recovery, want %d", good.cleanups.Load(), wantCleanups)
			}
		})
	}
}

func TestReloadBrokenNewElementThenFixed(t *testing.T) {
	t.Parallel()
	dir := newApp(t)
	rt := openWatched(t, dir)
	writeFile(t, filepath.Join(dir, "demo/things/Late/e.json"), `{"type":"demo.things.WidgetType"}`)
	writeFile(t, filepath.Join(dir, "demo/things/Late/Late.json"), `{"size":"x"}`)
	rt.eventually(t, "new broken element reported", hasProblem("error demo/things/Late/Late.json: size: must be a number"))
	if _, ok := rt.Snapshot().Get("demo.things.Late"); ok {
		t.Error("broken new element is live")
	}
	writeFile(t, filepath.Join(dir, "demo/things/Late/Late.json"), `{"size":6}`)
	rt.eventually(t, "fixed", func(s *runtime.Snapshot) bool { return sizeIs("demo.things.Late", 6)(s) && noProblems(s) })
}

func TestReloadBurst(t *testing.T) {
	t.Parallel()
	dir := newApp(t)
	rt := openWatched(t, dir)
	cfg := filepath.Join(dir, "demo/things/Red/Red.json")
	first := widget(t, rt.Runtime, "demo.things.Red")
	before := rt.reloads.Load()
	const writes = 1000
	for i := 1; i <= writes; i++ {
		if err := os.WriteFile(cfg, fmt.Appendf(nil, `{"size":%d}`, i), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rt.eventually(t, "final content", func(s *runtime.Snapshot) bool { return sizeIs("demo.things.Red", writes)(s) && noProblems(s) })
	n := rt.reloads.Load() - before
	t.Logf("%d writes gave %d reloads", writes, n)
	if n < 1 || n > writes/10 {
		t.Errorf("%d reloads for %d writes: the burst was not debounced", n, writes)
	}
	if first.cleanups.Load() != 1 {
		t.Errorf("first object cleaned up %d times", first.cleanups.Load())
	}
}

func TestReloadDirect(t *testing.T) {
	t.Parallel()
	dir := newApp(t)
	rt := open(t, dir)
	ctx := context.Background()
	old := widget(t, rt, "demo.things.Red")
	writeFile(t, filepath.Join(dir, "demo/things/Red/Red.json"), `{"size":2}`)

	// A cancelled reload changes nothing, and the change is still picked up later.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := rt.Reload(cctx, []runtime.Change{{Layer: 0, Path: "demo/things/Red/Red.json"}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Reload: %v", err)
	}
	if widget(t, rt, "demo.things.Red") != old {
		t.Fatal("cancelled reload changed the live element")
	}
	if err := rt.Reload(ctx, []runtime.Change{{Layer: 0, Path: "demo/things/Red/Red.json"}}); err != nil {
		t.Fatal(err)
	}
	if w := widget(t, rt, "demo.things.Red"); w.Size != 2 {
		t.Fatalf("after Reload: %+v", w)
	}

	// Changes outside the layers, and of nothing, are harmless.
	gen := rt.Snapshot().Generation()
	if err := rt.Reload(ctx, []runtime.Change{{Layer: 7, Path: "x"}, {Layer: -1, Path: "x"}, {Layer: 0, Path: "nothing/here"}}); err != nil {
		t.Fatal(err)
	}
	if err := rt.Reload(ctx, []runtime.Change{{Layer: 0, Path: "demo/things/Red"}}); err != nil {
		t.Fatal(err)
	}
	if rt.Snapshot().Generation() != gen {
		t.Errorf("a reload with no change published a snapshot")
	}
	// A rescan of the whole layer finds the same elements.
	n := rt.Snapshot().Len()
	if err := rt.Reload(ctx, []runtime.Change{{Layer: 0, Path: ""}}); err != nil {
		t.Fatal(err)
	}
	if rt.Snapshot().Len() != n || widget(t, rt, "demo.things.Red").Size != 2 {
		t.Errorf("full rescan: %d elements, want %d", rt.Snapshot().Len(), n)
	}

	cur := widget(t, rt, "demo.things.Red")
	if err := rt.Close(); err != nil {
		t.Fatal(err)
	}
	if cur.cleanups.Load() != 1 {
		t.Errorf("Close cleaned up the live element %d times", cur.cleanups.Load())
	}
	if err := rt.Reload(ctx, nil); !errors.Is(err, runtime.ErrClosed) {
		t.Errorf("Reload after Close: %v", err)
	}
	if _, ok := rt.Snapshot().Get("demo.things.Red"); !ok {
		t.Error("the last snapshot must stay readable after Close")
	}
}

func TestReloadInertNotices(t *testing.T) {
	t.Parallel()
	dir := newApp(t)
	rt := open(t, dir)
	ctx := context.Background()
	reload := func(p string) {
		t.Helper()
		if err := rt.Reload(ctx, []runtime.Change{{Layer: 0, Path: p}}); err != nil {
			t.Fatal(err)
		}
	}
	notice := func(n int, first string) []string {
		return []string{fmt.Sprintf("notice pages/%s/e.json: type: no implementation in this runtime for type pages.NormalType; %d element(s) kept inert (e.g. pages.%s)", first, n, first)}
	}
	writeFile(t, filepath.Join(dir, "pages/B/e.json"), `{"type":"pages.NormalType"}`)
	reload("pages/B")
	if got := problemLines(rt.Snapshot().Problems()); !slices.Equal(got, notice(1, "B")) {
		t.Errorf("one inert page: %q", got)
	}
	writeFile(t, filepath.Join(dir, "pages/A/e.json"), `{"type":"pages.NormalType","icon":"a"}`)
	reload("pages/A")
	if got := problemLines(rt.Snapshot().Problems()); !slices.Equal(got, notice(2, "A")) {
		t.Errorf("two inert pages: %q", got)
	}
	// An unrelated reload keeps the notice.
	writeFile(t, filepath.Join(dir, "demo/things/Red/Red.json"), `{"size":3}`)
	reload("demo/things/Red/Red.json")
	if got := problemLines(rt.Snapshot().Problems()); !slices.Equal(got, notice(2, "A")) {
		t.Errorf("after an unrelated reload: %q", got)
	}
	if err := os.RemoveAll(filepath.Join(dir, "pages/A")); err != nil {
		t.Fatal(err)
	}
	reload("pages/A")
	if got := problemLines(rt.Snapshot().Problems()); !slices.Equal(got, notice(1, "B")) {
		t.Errorf("after removing one: %q", got)
	}
	// Implementing the type (here: typing the page by a real Type) ends the notice.
	writeFile(t, filepath.Join(dir, "pages/B/e.json"), `{"type":"demo.things.WidgetType"}`)
	writeFile(t, filepath.Join(dir, "pages/B/B.json"), `{"size":1}`)
	reload("pages/B")
	if got := problemLines(rt.Snapshot().Problems()); len(got) != 0 {
		t.Errorf("after implementing: %q", got)
	}
	if e := get(t, rt, "pages.B"); e.Kind != elements.KindInstance {
		t.Errorf("pages.B kind %s", e.Kind)
	}
}

// syncLog is a log sink safe for the watcher goroutine to write to.
type syncLog struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
