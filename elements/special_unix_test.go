//go:build unix

package elements_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/jitwx/jit/elements"
)

func TestReadDefinitionRefusesSpecialFiles(t *testing.T) {
	tests := []struct {
		name  string
		make  func(t *testing.T, dir string) // dir is the element folder
		probs []string
	}{
		{
			name:  "FIFO e.json",
			make:  func(t *testing.T, dir string) { mkfifo(t, filepath.Join(dir, "e.json")) },
			probs: []string{"error auths/loginTypes/X/e.json: cannot read: not a regular file (named pipe)"},
		},
		{
			name: "FIFO config",
			make: func(t *testing.T, dir string) {
				write(t, filepath.Join(dir, "e.json"), `{"type":"a.BType"}`)
				mkfifo(t, filepath.Join(dir, "X.json"))
			},
			probs: []string{"error auths/loginTypes/X/X.json: cannot read: not a regular file (named pipe)"},
		},
		{
			name: "config links to /dev/zero",
			make: func(t *testing.T, dir string) {
				write(t, filepath.Join(dir, "e.json"), `{"type":"a.BType"}`)
				symlink(t, "/dev/zero", filepath.Join(dir, "config.json"))
			},
			probs: []string{"error auths/loginTypes/X/config.json: cannot read: not a regular file (device)"},
		},
		{
			name: "e.json links to a FIFO",
			make: func(t *testing.T, dir string) {
				mkfifo(t, filepath.Join(dir, "pipe"))
				symlink(t, "pipe", filepath.Join(dir, "e.json"))
			},
			probs: []string{"error auths/loginTypes/X/e.json: cannot read: not a regular file (named pipe)"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := os.Stat("/dev/zero"); err != nil {
				t.Skip("no /dev/zero")
			}
			root := t.TempDir()
			dir := filepath.Join(root, filepath.FromSlash(hostileDir))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			tc.make(t, dir)
			within(t, 5*time.Second, func() {
				d, probs := elements.ReadDefinition(os.DirFS(root), "app", hostileDir)
				if d != nil {
					t.Errorf("got a definition")
				}
				checkProblems(t, probs, tc.probs...)
			})
		})
	}
}

func mkfifo(t *testing.T, name string) {
	t.Helper()
	if err := syscall.Mkfifo(name, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
}
