//go:build unix

package runtime_test

import (
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"
)

// A FIFO e.json used to make `jit validate` wait forever.
func TestFIFOElementFile(t *testing.T) {
	app := t.TempDir()
	widgetAt(t, filepath.Join(app, "a", "W"))
	if err := os.MkdirAll(filepath.Join(app, "a", "P"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(app, "a", "P", "e.json"), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	within(t, 10*time.Second, func() {
		rt := open(t, app)
		want := []string{"error a/P/e.json: cannot read: not a regular file (named pipe)"}
		if got := problemLines(rt.Snapshot().Problems()); !slices.Equal(got, want) {
			t.Errorf("problems:\n got  %q\n want %q", got, want)
		}
		get(t, rt, "a.W")
	})
}
