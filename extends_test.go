package jit_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jitwx/jit"
	"github.com/jitwx/jit/elements"
)

const jitaiExtendsFixture = "testdata/apps/jitai-extends"

// TestOpenWithAppsDirExtendsJitAiApp: app.json's JitAi-style extends,
// [{"appId": "wanyun.BaseApp", "version": "1.0.0"}], is found in the apps
// folder WithAppsDir gives, on disk (Open) and for an fs.FS app (OpenFS);
// without an apps folder the one problem says how to give it.
func TestOpenWithAppsDirExtendsJitAiApp(t *testing.T) {
	ctx := context.Background()
	appDir := filepath.Join(jitaiExtendsFixture, "app")
	apps := jit.WithAppsDir(filepath.Join(jitaiExtendsFixture, "apps"))
	quiet := jit.WithLogger(slog.New(slog.DiscardHandler))
	opens := map[string]func(...jit.Option) (*jit.App, error){
		"Open": func(o ...jit.Option) (*jit.App, error) { return jit.Open(ctx, appDir, o...) },
		"OpenFS": func(o ...jit.Option) (*jit.App, error) {
			return jit.OpenFS(ctx, os.DirFS(jitaiExtendsFixture), "app", o...)
		},
	}
	for name, open := range opens {
		t.Run(name, func(t *testing.T) {
			app, err := open(jit.WithoutReload(), jit.WithoutDatabase(), quiet, apps)
			if err != nil {
				t.Fatal(err)
			}
			defer app.Close()
			for _, p := range app.Problems() {
				if p.Severity == elements.SeverityError {
					t.Errorf("problem: %v", p)
				}
			}
			obj, err := app.GetElement("roles.Admin")
			if err != nil {
				t.Fatal(err)
			}
			if d, ok := obj.(*elements.Definition); !ok || d.Layer != "wanyun.BaseApp" || d.Title != "管理员" {
				t.Errorf("roles.Admin = %#v", obj)
			}
			if _, err := app.GetElement("pages.HomePage"); err != nil {
				t.Errorf("the app's own element: %v", err)
			}
		})
	}

	app, err := jit.Open(ctx, appDir, jit.WithoutReload(), jit.WithoutDatabase(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	var errs []string
	for _, p := range app.Problems() {
		if p.Severity == elements.SeverityError {
			errs = append(errs, p.Error())
		}
	}
	want := "app.json: extends[0]: parent app wanyun.BaseApp version 1.0.0 not found: no apps folder is configured (pass --apps-dir or set JIT_APPS_DIR; in Go, jit.WithAppsDir)"
	if len(errs) != 1 || errs[0] != want {
		t.Errorf("without an apps folder:\n got  %q\n want %q", errs, want)
	}
	if _, err := app.GetElement("roles.Admin"); err == nil || !strings.Contains(err.Error(), "roles.Admin") {
		t.Errorf("roles.Admin without its app: %v", err)
	}
}
