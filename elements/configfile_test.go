package elements_test

import (
	"testing"
	"testing/fstest"

	"github.com/jitwx/jit/elements"
)

// TestConfigFileMistakes: a config file copied from another element is
// named in a warning, with the file this element reads; a frontBundleEntry
// outside the element's folder is an error on that field.
func TestConfigFileMistakes(t *testing.T) {
	const dir = "auths/loginTypes/ThirdLogin"
	tests := []struct {
		name    string
		files   map[string]string // relative to dir
		wantNil bool
		wantCfg string
		probs   []string
	}{
		{
			name:  "config copied from another element",
			files: map[string]string{"e.json": `{"type":"a.BType"}`, "MyWechatLogin.json": `{"appId":"wx"}`},
			probs: []string{"warning auths/loginTypes/ThirdLogin/MyWechatLogin.json: not read: the business config file of this element is ThirdLogin.json (rename MyWechatLogin.json to ThirdLogin.json?)"},
		},
		{
			name:  "each stray file is named",
			files: map[string]string{"e.json": `{"type":"a.BType"}`, "A.json": `{}`, "B.json": `{}`},
			probs: []string{
				"warning auths/loginTypes/ThirdLogin/A.json: not read: the business config file of this element is ThirdLogin.json (rename A.json to ThirdLogin.json?)",
				"warning auths/loginTypes/ThirdLogin/B.json: not read: the business config file of this element is ThirdLogin.json (rename B.json to ThirdLogin.json?)",
			},
		},
		{
			name:    "another JSON file beside the business config is fine",
			files:   map[string]string{"e.json": `{"type":"a.BType"}`, "ThirdLogin.json": `{}`, "Other.json": `{}`},
			wantCfg: dir + "/ThirdLogin.json",
		},
		{
			name:    "config.json is a business config",
			files:   map[string]string{"e.json": `{"type":"a.BType"}`, "config.json": `{}`, "Other.json": `{}`},
			wantCfg: dir + "/config.json",
		},
		{
			name:    "the file frontBundleEntry names is the business config",
			files:   map[string]string{"e.json": `{"type":"a.BType","frontBundleEntry":"./Default.json"}`, "Default.json": `{}`},
			wantCfg: dir + "/Default.json",
		},
		{
			name:  "frontBundleEntry naming a missing JSON file: no warning about it",
			files: map[string]string{"e.json": `{"type":"a.BType","frontBundleEntry":"./Default.json"}`},
		},
		{
			name:  "JitAi's usual code entry",
			files: map[string]string{"e.json": `{"type":"a.BType","frontBundleEntry":"./index.ts"}`, "index.ts": ``},
		},
		{
			name:  "a Meta has no business config",
			files: map[string]string{"e.json": `{"title":"m"}`, "Notes.json": `{}`},
		},
		{
			name:  "hidden files and folders are not configs",
			files: map[string]string{"e.json": `{"type":"a.BType"}`, ".prettierrc.json": `{}`, "sub.json/x": ``},
		},
		{
			name:    "frontBundleEntry in the parent folder",
			files:   map[string]string{"e.json": `{"type":"a.BType","frontBundleEntry":"../Other/Other.json"}`},
			wantNil: true,
			probs:   []string{`error auths/loginTypes/ThirdLogin/e.json: frontBundleEntry: "../Other/Other.json" points outside the element's folder`},
		},
		{
			name:    "frontBundleEntry absolute",
			files:   map[string]string{"e.json": `{"type":"a.BType","frontBundleEntry":"/etc/passwd.json"}`},
			wantNil: true,
			probs:   []string{`error auths/loginTypes/ThirdLogin/e.json: frontBundleEntry: "/etc/passwd.json" points outside the element's folder`},
		},
		{
			name:    "frontBundleEntry climbing out through a subfolder",
			files:   map[string]string{"e.json": `{"type":"a.BType","frontBundleEntry":"a/../../x.json"}`},
			wantNil: true,
			probs:   []string{`error auths/loginTypes/ThirdLogin/e.json: frontBundleEntry: "a/../../x.json" points outside the element's folder`},
		},
		{
			name:    "frontBundleEntry code outside the folder",
			files:   map[string]string{"e.json": `{"type":"a.BType","frontBundleEntry":"..\\Other\\index.ts"}`},
			wantNil: true,
			probs:   []string{`error auths/loginTypes/ThirdLogin/e.json: frontBundleEntry: "..\\Other\\index.ts" points outside the element's folder`},
		},
		{
			name:    "frontBundleEntry not a string",
			files:   map[string]string{"e.json": `{"type":"a.BType","frontBundleEntry":1}`},
			wantNil: true,
			probs:   []string{`error auths/loginTypes/ThirdLogin/e.json: frontBundleEntry: must be a string, a file of the element's folder such as "./index.ts"`},
		},
		{
			name:  "frontBundleEntry inside a subfolder",
			files: map[string]string{"e.json": `{"type":"a.BType","frontBundleEntry":"./frontend/../index.ts"}`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for name, body := range tc.files {
				fsys[dir+"/"+name] = &fstest.MapFile{Data: []byte(body)}
			}
			d, probs := elements.ReadDefinition(fsys, "app", dir)
			checkProblems(t, probs, tc.probs...)
			if (d == nil) != tc.wantNil {
				t.Fatalf("definition %v, want nil: %v", d, tc.wantNil)
			}
			if d != nil && d.ConfigFile != tc.wantCfg {
				t.Errorf("config file %q, want %q", d.ConfigFile, tc.wantCfg)
			}
		})
	}
}
