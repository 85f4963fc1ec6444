package elements_test

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jitwx/jit/elements"
)

// within fails the test if f does not return in time: the attacks below
// used to hang or exhaust memory.
func within(t *testing.T, d time.Duration, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("did not finish within %v", d)
	}
}

const hostileDir = "auths/loginTypes/X"

// liarFS holds one file that claims to be 2 bytes long and never ends.
type liarFS struct{}

type liarFile struct{}

type liarInfo struct{}

func (liarFS) Open(name string) (fs.File, error) {
	if name != "f.json" {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return liarFile{}, nil
}
func (liarFile) Stat() (fs.FileInfo, error) { return liarInfo{}, nil }
func (liarFile) Close() error               { return nil }
func (liarFile) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}
func (liarInfo) Name() string       { return "f.json" }
func (liarInfo) Size() int64        { return 2 }
func (liarInfo) Mode() fs.FileMode  { return 0o644 }
func (liarInfo) ModTime() time.Time { return time.Time{} }
func (liarInfo) IsDir() bool        { return false }
func (liarInfo) Sys() any           { return nil }

func TestReadFileIsBoundedWhenTheSizeLies(t *testing.T) {
	within(t, 10*time.Second, func() {
		raw, err := elements.ReadFile(liarFS{}, "f.json")
		if err == nil || !strings.Contains(err.Error(), "larger than 4 MiB") {
			t.Errorf("err = %v, %d bytes", err, len(raw))
		}
	})
}

func TestDeepJSONIsRefused(t *testing.T) {
	deep := strings.Repeat("[", 2_000_000) // under 4 MiB
	tests := []struct {
		name  string
		files map[string]string
		probs []string
	}{
		{
			name:  "deep e.json",
			files: map[string]string{"e.json": `{"x":` + deep},
			probs: []string{"error auths/loginTypes/X/e.json: JSON nested deeper than 64 levels"},
		},
		{
			name:  "deep config",
			files: map[string]string{"e.json": `{"type":"a.BType"}`, "X.json": `{"x":` + deep},
			probs: []string{"error auths/loginTypes/X/X.json: JSON nested deeper than 64 levels"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for name, body := range tc.files {
				fsys[hostileDir+"/"+name] = &fstest.MapFile{Data: []byte(body)}
			}
			within(t, 5*time.Second, func() {
				d, probs := elements.ReadDefinition(fsys, "app", hostileDir)
				if d != nil {
					t.Errorf("got a definition")
				}
				checkProblems(t, probs, tc.probs...)
			})
		})
	}
}

func TestCheckJSONDepth(t *testing.T) {
	nest := func(n int) string { return strings.Repeat(`{"a":`, n-1) + "[1]" + strings.Repeat("}", n-1) }
	ok := []string{
		nest(64),
		`{"s":"` + strings.Repeat("[", 1000) + `"}`,     // brackets in strings do not count
		`{"s":"\"` + strings.Repeat("{", 1000) + `\\"}`, // escaped quotes stay in the string
		`{"s":"\\"}` + strings.Repeat("]", 100),         // unbalanced closers never go negative
	}
	for _, s := range ok {
		if _, err := elements.CheckJSON([]byte(s)); err != nil {
			t.Errorf("CheckJSON(%.40q…): %v", s, err)
		}
	}
	bad := []string{
		nest(65),
		`{"s":"\\"` + strings.Repeat("[", 100), // the string ended: these count
	}
	for _, s := range bad {
		if _, err := elements.CheckJSON([]byte(s)); !errors.Is(err, elements.ErrTooDeep) {
			t.Errorf("CheckJSON(%.40q…) = %v, want ErrTooDeep", s, err)
		}
	}
}

func TestByteOrderMarkIsAccepted(t *testing.T) {
	bom := "\xEF\xBB\xBF"
	fsys := fstest.MapFS{
		hostileDir + "/e.json": {Data: []byte(bom + `{"type":"a.BType","title":"T"}`)},
		hostileDir + "/X.json": {Data: []byte(bom + `{"k":1}`)},
	}
	d, probs := elements.ReadDefinition(fsys, "app", hostileDir)
	checkProblems(t, probs)
	if d == nil || d.Type != "a.BType" || d.Title != "T" || string(d.Config) != `{"k":1}` {
		t.Fatalf("definition = %+v", d)
	}
}

func TestExpandEnvIsBounded(t *testing.T) {
	big := strings.Repeat("s", 1<<20)
	lookup := func(string) (string, bool) { return big, true }
	t.Run("one string", func(t *testing.T) {
		cfg := map[string]any{"a": map[string]any{"b": "x{{BIG}}"}}
		probs := elements.ExpandEnv(cfg, lookup, "c.json")
		checkProblems(t, probs, "error c.json: a.b: longer than 64 KiB once environment variables are expanded")
		if s := cfg["a"].(map[string]any)["b"].(string); len(s) > elements.MaxExpandedString {
			t.Errorf("expanded to %d bytes", len(s))
		}
	})
	t.Run("many strings", func(t *testing.T) {
		val := strings.Repeat("v", 60<<10)
		cfg := map[string]any{}
		list := make([]any, 200)
		for i := range list {
			list[i] = "{{V}}"
		}
		cfg["l"] = list
		probs := elements.ExpandEnv(cfg, func(string) (string, bool) { return val, true }, "c.json")
		if len(probs) == 0 {
			t.Fatal("no problem")
		}
		for _, p := range probs {
			if strings.Contains(p.Error(), "vvvv") {
				t.Errorf("problem echoes the value: %.80s", p.Error())
			}
		}
		total := 0
		for _, v := range list {
			total += len(v.(string))
		}
		if total > elements.MaxExpandedTotal {
			t.Errorf("expanded to %d bytes in all", total)
		}
	})
	t.Run("small values still expand", func(t *testing.T) {
		cfg := map[string]any{"a": "{{X}}-{{X}}"}
		probs := elements.ExpandEnv(cfg, func(string) (string, bool) { return "ok", true }, "c.json")
		checkProblems(t, probs)
		if cfg["a"] != "ok-ok" {
			t.Errorf("a = %v", cfg["a"])
		}
	})
}

func symlink(t *testing.T, target, name string) {
	t.Helper()
	if err := os.Symlink(target, name); err != nil {
		t.Skipf("symlink: %v", err)
	}
}

func write(t *testing.T, name, body string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
