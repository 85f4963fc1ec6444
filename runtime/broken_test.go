package runtime_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jitwx/jit/runtime"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func reload(t *testing.T, rt *runtime.Runtime, paths ...string) {
	t.Helper()
	var changes []runtime.Change
	for _, p := range paths {
		changes = append(changes, runtime.Change{Layer: 0, Path: p})
	}
	if err := rt.Reload(context.Background(), changes); err != nil {
		t.Fatal(err)
	}
}

func brokenNames(s *runtime.Snapshot) []string {
	var out []string
	for _, b := range s.BrokenElements() {
		out = append(out, b.FullName)
	}
	return out
}

// An element with errors and nothing live is Broken; one serving its last
// good version is not (it is in Get, its errors in Problems).
func TestSnapshotBrokenIsErrorsWithNothingLive(t *testing.T) {
	dir := newApp(t)
	writeFile(t, filepath.Join(dir, "demo/things/Blue/e.json"), `{"title":"Blue","type":"demo.things.WidgetType"}`)
	writeFile(t, filepath.Join(dir, "demo/things/Blue/Blue.json"), `{"label":"no size"}`)
	logs := &syncBuffer{}
	rt := open(t, dir, runtime.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))

	snap := rt.Snapshot()
	b, ok := snap.Broken("demo.things.Blue")
	if !ok || b.Title != "Blue" || b.Type != "demo.things.WidgetType" || len(b.Problems) != 1 ||
		b.Problems[0].Field != "size" || b.Problems[0].File != "demo/things/Blue/Blue.json" {
		t.Fatalf("Blue: %+v %v", b, ok)
	}
	if _, ok := snap.Get("demo.things.Blue"); ok {
		t.Fatal("a broken element is live")
	}
	if got := brokenNames(snap); len(got) != 1 || got[0] != "demo.things.Blue" {
		t.Fatalf("broken %v", got)
	}
	if _, ok := snap.Broken("demo.things.Red"); ok {
		t.Fatal("Red is healthy")
	}
	if n := strings.Count(logs.String(), "size: required"); n != 1 {
		t.Fatalf("the problem was logged %d times:\n%s", n, logs.String())
	}

	// Fixed: live, not broken.
	writeFile(t, filepath.Join(dir, "demo/things/Blue/Blue.json"), `{"size":2}`)
	reload(t, rt, "demo/things/Blue")
	if _, ok := rt.Snapshot().Get("demo.things.Blue"); !ok || len(brokenNames(rt.Snapshot())) != 0 {
		t.Fatalf("fixed Blue: broken %v, problems %v", brokenNames(rt.Snapshot()), rt.Snapshot().Problems())
	}

	// Broken again by an edit: the last good version serves; not Broken.
	writeFile(t, filepath.Join(dir, "demo/things/Blue/Blue.json"), `{"size":2,"color":"pink"}`)
	reload(t, rt, "demo/things/Blue")
	snap = rt.Snapshot()
	if _, ok := snap.Get("demo.things.Blue"); !ok || !snap.Problems().HasErrors() || len(brokenNames(snap)) != 0 {
		t.Fatalf("stale Blue: live %v, broken %v, problems %v", ok, brokenNames(snap), snap.Problems())
	}
	// A reload that changes nothing about the problem does not log it again.
	before := strings.Count(logs.String(), "must be one of")
	reload(t, rt, "demo/things/Red")
	if before != 1 || strings.Count(logs.String(), "must be one of") != 1 {
		t.Fatalf("the pink problem was logged %d then %d times:\n%s", before, strings.Count(logs.String(), "must be one of"), logs.String())
	}
	if !strings.Contains(logs.String(), "keeping its last good version") {
		t.Errorf("the log does not say the last good version stays:\n%s", logs.String())
	}

	// Removed: neither live nor broken.
	if err := os.RemoveAll(filepath.Join(dir, "demo/things/Blue")); err != nil {
		t.Fatal(err)
	}
	reload(t, rt, "demo/things/Blue")
	snap = rt.Snapshot()
	if _, ok := snap.Get("demo.things.Blue"); ok || len(brokenNames(snap)) != 0 || len(snap.Problems()) != 0 {
		t.Fatalf("removed Blue: broken %v, problems %v", brokenNames(snap), snap.Problems())
	}

	// A new folder whose e.json cannot be read is broken, without a title.
	writeFile(t, filepath.Join(dir, "demo/things/Green/e.json"), `{"type":`)
	reload(t, rt, "demo/things/Green")
	b, ok = rt.Snapshot().Broken("demo.things.Green")
	if !ok || b.Title != "" || len(b.Problems) == 0 || b.Problems[0].File != "demo/things/Green/e.json" {
		t.Fatalf("Green: %+v %v; problems %v", b, ok, rt.Snapshot().Problems())
	}
}
