package main

import (
	"path/filepath"
	"strings"
	"testing"
)

var (
	jitaiExtendsApp  = filepath.Join("..", "..", "testdata", "apps", "jitai-extends", "app")
	jitaiExtendsApps = filepath.Join("..", "..", "testdata", "apps", "jitai-extends", "apps")
)

// TestAppsDirFromFlagOrEnvironment: validate and elements find the parents
// app.json extends by appId in --apps-dir, else in $JIT_APPS_DIR; the flag
// wins; without either, the one error says how to give it.
func TestAppsDirFromFlagOrEnvironment(t *testing.T) {
	missing := "app.json: extends[0]: parent app wanyun.BaseApp version 1.0.0 not found: no apps folder is configured (pass --apps-dir or set JIT_APPS_DIR; in Go, jit.WithAppsDir)\n"
	elsewhere := t.TempDir()
	tests := []struct {
		name    string
		env     string
		args    []string
		wantErr string // a line of validate's output; "" for exit 0
	}{
		{name: "flag", args: []string{"--apps-dir", jitaiExtendsApps}},
		{name: "environment", env: jitaiExtendsApps},
		{name: "flag wins", env: elsewhere, args: []string{"--apps-dir", jitaiExtendsApps}},
		{name: "neither", wantErr: missing},
		{
			name: "wrong folder", args: []string{"--apps-dir", elsewhere},
			wantErr: "app.json: extends[0]: parent app wanyun.BaseApp version 1.0.0 not found: no app.json in " +
				filepath.Join(elsewhere, "wanyun", "BaseApp", "1.0.0") + " or " + filepath.Join(elsewhere, "wanyun", "BaseApp") + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(appsDirEnv, tt.env)
			code, out, errOut := runJit(t, append([]string{"validate", jitaiExtendsApp}, tt.args...)...)
			if tt.wantErr != "" {
				if code != 1 || !strings.Contains(out, tt.wantErr) {
					t.Errorf("validate: exit %d, want 1 and %q in:\n%s%s", code, tt.wantErr, out, errOut)
				}
				return
			}
			if code != 0 {
				t.Errorf("validate: exit %d:\n%s%s", code, out, errOut)
			}
			code, out, errOut = runJit(t, append([]string{"elements", "--app", jitaiExtendsApp}, tt.args...)...)
			if code != 0 || !strings.Contains(out, "roles.Admin  [inert, layer wanyun.BaseApp, type roles.NormalType  管理员]\n") {
				t.Errorf("elements: exit %d:\n%s%s", code, out, errOut)
			}
		})
	}
}

// TestServeWarnsAboutThePublicURLAsValidateDoes: serve prints validate's
// --public-url warnings, line for line, and the address it listens on.
func TestServeWarnsAboutThePublicURLAsValidateDoes(t *testing.T) {
	const public = "http://10.0.0.1:8080"
	want := []string{
		"warning: --public-url: http://10.0.0.1:8080 is not https; WeChat pages should be served over https\n",
		"warning: --public-url: port 8080: WeChat only redirects to ports 80 and 443 (errcode 10003)\n",
		"warning: --public-url: 10.0.0.1 is an IP address: WeChat needs the registered 网页授权域名 (errcode 10003)\n",
	}
	code, vout, verr := runJit(t, "validate", jitaiExtendsApp, "--apps-dir", jitaiExtendsApps, "--public-url", public)
	if code != 0 {
		t.Fatalf("validate: exit %d:\n%s%s", code, vout, verr)
	}
	s := serveInProcess(t, "--public-url", public)
	sout := s.stdout.String()
	for _, w := range want {
		if !strings.Contains(vout, w) {
			t.Errorf("validate does not print %q:\n%s", w, vout)
		}
		if !strings.Contains(sout, w) {
			t.Errorf("serve does not print %q:\n%s", w, sout)
		}
	}
	if !strings.HasPrefix(s.listen, "http://127.0.0.1:") || !strings.Contains(sout, "jit: serving the bundled demo app (dev mode) on "+s.listen+"\n") {
		t.Errorf("serve does not print the address it listens on (%s):\n%s", s.listen, sout)
	}
}
