package runtime_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jitwx/jit/runtime"
)

// TestAppJSONSyntaxSaysWhere: app.json syntax errors get the line, column
// and reason that element files get.
func TestAppJSONSyntaxSaysWhere(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, want string
	}{
		{"trailing comma", "{\n  \"extends\": [\"../b\"],\n}", `error app.json: not valid JSON: line 3, column 1: trailing comma before } (remove the last comma)`},
		{"comment", "{\n  // the parent\n  \"extends\": []\n}", `error app.json: not valid JSON: line 2, column 3: JSON has no comments (remove the // comment)`},
		{"truncated", `{"extends":`, `error app.json: not valid JSON: line 1, column 12: the file ends too early (a missing } or ]?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fsys := fstest.MapFS{"app/app.json": {Data: []byte(tt.body)}}
			_, probs, err := runtime.DiscoverLayers(fsys, "app", "")
			if err != nil {
				t.Fatal(err)
			}
			if got := problemLines(probs); !slices.Equal(got, []string{tt.want}) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestExtendsJitAiFixture: the fixture's app extends wanyun.BaseApp 1.0.0,
// found in its apps folder, and sees the parent's element.
func TestExtendsJitAiFixture(t *testing.T) {
	t.Parallel()
	root := filepath.Join(appsDir, "jitai-extends")
	app := filepath.Join(root, "app")
	layers, probs, err := runtime.DiscoverLayers(os.DirFS(app), ".", app, runtime.WithAppsDir(filepath.Join(root, "apps")))
	if err != nil || len(probs) != 0 {
		t.Fatal(err, problemLines(probs))
	}
	if got := layerNames(layers); !slices.Equal(got, []string{"app", "wanyun.BaseApp"}) {
		t.Errorf("layers %q", got)
	}
	abs, _ := filepath.Abs(filepath.Join(root, "apps", "wanyun", "BaseApp", "1.0.0"))
	if layers[1].Dir != abs {
		t.Errorf("parent folder %q, want %q", layers[1].Dir, abs)
	}
}

func layerNames(layers []runtime.Layer) []string {
	var out []string
	for _, l := range layers {
		out = append(out, l.Name)
	}
	return out
}

// TestExtendsAppID covers the resolution of {"appId", "version"} parents
// in the apps folder, and the problems of entries that cannot be resolved.
func TestExtendsAppID(t *testing.T) {
	t.Parallel()
	type files map[string]string
	tests := []struct {
		name    string
		files   files // under the test's folder; the app is app/, the apps folder apps/
		noApps  bool  // no apps folder configured
		layers  []string
		dirs    []string // each layer's folder, relative to the test's folder ("" for none)
		want    []string // problems; "$" is the test's folder
		wantErr error
	}{
		{
			name: "version folder preferred",
			files: files{
				"app/app.json":                         `{"extends":[{"appId":"wanyun.BaseApp","version":"1.0.0"}]}`,
				"apps/wanyun/BaseApp/app.json":         `{}`,
				"apps/wanyun/BaseApp/1.0.0/app.json":   `{}`,
				"apps/wanyun/BaseApp/1.0.0/x/A/e.json": `{}`,
			},
			layers: []string{"app", "wanyun.BaseApp"},
			dirs:   []string{"app", "apps/wanyun/BaseApp/1.0.0"},
		},
		{
			name: "no version folder: the app folder",
			files: files{
				"app/app.json":                 `{"extends":[{"appId":"wanyun.BaseApp","version":"2.0.0"}]}`,
				"apps/wanyun/BaseApp/app.json": `{}`,
			},
			layers: []string{"app", "wanyun.BaseApp"},
			dirs:   []string{"app", "apps/wanyun/BaseApp"},
		},
		{
			name: "no version given",
			files: files{
				"app/app.json":                 `{"extends":[{"appId":"wanyun.BaseApp"}]}`,
				"apps/wanyun/BaseApp/app.json": `{}`,
			},
			layers: []string{"app", "wanyun.BaseApp"},
			dirs:   []string{"app", "apps/wanyun/BaseApp"},
		},
		{
			name: "folder paths and appIds mixed, parents of parents",
			files: files{
				"app/app.json":                       `{"extends":["../local",{"appId":"wanyun.BaseApp","version":"1.0.0"}]}`,
				"local/app.json":                     `{}`,
				"apps/wanyun/BaseApp/1.0.0/app.json": `{"extends":[{"appId":"wanyun.Core"}]}`,
				"apps/wanyun/Core/app.json":          `{}`,
			},
			layers: []string{"app", "../local", "wanyun.BaseApp", "wanyun.Core"},
			dirs:   []string{"app", "local", "apps/wanyun/BaseApp/1.0.0", "apps/wanyun/Core"},
		},
		{
			name: "missing parent names the folders searched",
			files: files{
				"app/app.json":                       `{"extends":[{"appId":"wanyun.BaseApp","version":"1.0.0"}]}`,
				"apps/wanyun/BaseApp/2.0.0/app.json": `{}`,
			},
			layers: []string{"app"},
			dirs:   []string{"app"},
			want: []string{
				`error app.json: extends[0]: parent app wanyun.BaseApp version 1.0.0 not found: no app.json in $/apps/wanyun/BaseApp/1.0.0 or $/apps/wanyun/BaseApp (versions there: 2.0.0)`,
			},
		},
		{
			name: "missing parent without version",
			files: files{
				"app/app.json": `{"extends":[{"appId":"wanyun.BaseApp"}]}`,
				"apps/.keep":   ``,
			},
			layers: []string{"app"},
			dirs:   []string{"app"},
			want: []string{
				`error app.json: extends[0]: parent app wanyun.BaseApp not found: no app.json in $/apps/wanyun/BaseApp`,
			},
		},
		{
			name:   "no apps folder configured",
			files:  files{"app/app.json": `{"extends":[{"appId":"wanyun.BaseApp","version":"1.0.0"}]}`},
			noApps: true,
			layers: []string{"app"},
			dirs:   []string{"app"},
			want: []string{
				`error app.json: extends[0]: parent app wanyun.BaseApp version 1.0.0 not found: no apps folder is configured (pass --apps-dir or set JIT_APPS_DIR; in Go, jit.WithAppsDir)`,
			},
		},
		{
			name: "malformed entries",
			files: files{
				"app/app.json": `{"extends":[{"version":"1.0.0"},{"appId":"BaseApp"},{"appId":7},1,{"appId":"wanyun.Base/App"},{"appId":"wanyun.BaseApp","version":"../x"},{"appId":"a.b.c"},""]}`,
				"apps/.keep":   ``,
			},
			layers: []string{"app"},
			dirs:   []string{"app"},
			want: []string{
				`error app.json: extends[0].appId: required: the parent app's id, such as "wanyun.BaseApp"`,
				`error app.json: extends[1].appId: "BaseApp" is not <org>.<App> (such as "wanyun.BaseApp"): it has no dot`,
				`error app.json: extends[2].appId: must be a string such as "wanyun.BaseApp"`,
				`error app.json: extends[3]: must be a parent app's folder path or {"appId": "<org>.<App>", "version": "..."}`,
				`error app.json: extends[4].appId: "wanyun.Base/App" is not <org>.<App> (such as "wanyun.BaseApp"): "Base/App" cannot be a folder name`,
				`error app.json: extends[5].version: "../x" cannot be a folder name`,
				`error app.json: extends[6].appId: "a.b.c" is not <org>.<App> (such as "wanyun.BaseApp"): it has more than one dot`,
				`error app.json: extends[7]: must be a parent app's folder path or {"appId": "<org>.<App>", "version": "..."}`,
			},
		},
		{
			name: "cycle through appIds",
			files: files{
				"app/app.json":               `{"extends":[{"appId":"wanyun.A"}]}`,
				"apps/wanyun/A/app.json":     `{"extends":[{"appId":"wanyun.B","version":"1"}]}`,
				"apps/wanyun/B/1/app.json":   `{"extends":[{"appId":"wanyun.A"}]}`,
				"apps/wanyun/B/1/x/B/e.json": `{}`,
			},
			wantErr: runtime.ErrExtendsCycle,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for name, body := range tt.files {
				writeFile(t, filepath.Join(dir, filepath.FromSlash(name)), body)
			}
			app := filepath.Join(dir, "app")
			var opts []runtime.DiscoverOption
			if !tt.noApps {
				opts = append(opts, runtime.WithAppsDir(filepath.Join(dir, "apps")))
			}
			layers, probs, err := runtime.DiscoverLayers(os.DirFS(app), ".", app, opts...)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, w := range tt.want {
				want = append(want, strings.ReplaceAll(w, "$", dir))
			}
			if got := problemLines(probs); !slices.Equal(got, want) {
				t.Errorf("problems:\n got  %q\n want %q", got, want)
			}
			if got := layerNames(layers); !slices.Equal(got, tt.layers) {
				t.Errorf("layers %q, want %q", got, tt.layers)
			}
			for i, l := range layers {
				if i < len(tt.dirs) && l.Dir != filepath.Join(dir, filepath.FromSlash(tt.dirs[i])) {
					t.Errorf("layer %s folder %q, want %s", l.Name, l.Dir, tt.dirs[i])
				}
			}
		})
	}
}

// TestExtendsAppIDFromFS: an app opened from an fs.FS (no folder on disk)
// still finds its appId parents in an apps folder on disk.
func TestExtendsAppIDFromFS(t *testing.T) {
	t.Parallel()
	apps := t.TempDir()
	writeFile(t, filepath.Join(apps, "wanyun", "BaseApp", "app.json"), `{}`)
	fsys := fstest.MapFS{"app/app.json": {Data: []byte(`{"extends":[{"appId":"wanyun.BaseApp"}]}`)}}
	layers, probs, err := runtime.DiscoverLayers(fsys, "app", "", runtime.WithAppsDir(apps))
	if err != nil || len(probs) != 0 {
		t.Fatal(err, problemLines(probs))
	}
	if got := layerNames(layers); !slices.Equal(got, []string{"app", "wanyun.BaseApp"}) {
		t.Errorf("layers %q", got)
	}
	if want := filepath.Join(apps, "wanyun", "BaseApp"); layers[1].Dir != want {
		t.Errorf("parent folder %q, want %q", layers[1].Dir, want)
	}
}
