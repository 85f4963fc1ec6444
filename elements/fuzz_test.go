package elements_test

import (
	"encoding/json"
	"testing"
	"testing/fstest"

	"github.com/tidwall/gjson"

	"github.com/jitwx/jit/elements"
)

// FuzzReadDefinition feeds arbitrary bytes as an element's e.json and
// business config: the loader must answer with problems or a valid
// definition, never panic. The config then goes through the rest of the
// pipeline (Merge over Type defaults, {{VAR}} expansion, schema checks).
func FuzzReadDefinition(f *testing.F) {
	f.Add([]byte(`{"title":"微信公众号登录","type":"auths.loginTypes.WechatPublicType"}`),
		[]byte(`{"appId":"wx0123456789abcdef","appSecret":"{{WECHAT_APP_SECRET}}","scope":"snsapi_base"}`), false)
	f.Add([]byte(`{"type":"pages.NormalType","frontBundleEntry":"./Default.json","icon":"x","sort":1}`), []byte(`{"a":{"b":[1,2,{"c":null}]}}`), true)
	f.Add([]byte(`{"type":`), []byte(`{}`), false)
	f.Add([]byte(`[]`), []byte(`[]`), false)
	f.Add([]byte(`{"title":1,"type":{}}`), []byte(`"str"`), false)
	f.Add([]byte(`{}`), []byte(`{"scope":"{{ A }}{{B}}{{","appId":1e400}`), false)

	env := func(k string) (string, bool) {
		if k == "A" {
			return "v", true
		}
		return "", false
	}
	defaults := []byte(`{"scope":"snsapi_userinfo","lang":"zh_CN","apiBaseUrls":["https://api.weixin.qq.com"]}`)

	f.Fuzz(func(t *testing.T, ejson, cfg []byte, frontBundle bool) {
		const dir = "auths/loginTypes/F"
		cfgName := "F.json"
		if frontBundle {
			cfgName = "Default.json"
		}
		fsys := fstest.MapFS{
			dir + "/e.json":     {Data: ejson},
			dir + "/" + cfgName: {Data: cfg},
		}
		d, probs := elements.ReadDefinition(fsys, "app", dir)
		if d == nil {
			if !probs.HasErrors() {
				t.Fatalf("nil definition without an error: %v", probs)
			}
		} else {
			if probs.HasErrors() {
				t.Fatalf("definition with errors: %v", probs)
			}
			if !gjson.ValidBytes(d.EJSON) || !gjson.ParseBytes(d.EJSON).IsObject() {
				t.Fatalf("definition kept an invalid e.json %q", d.EJSON)
			}
			if d.Config != nil && !gjson.ParseBytes(d.Config).IsObject() {
				t.Fatalf("definition kept a config that is not an object: %q", d.Config)
			}
			if d.FullName != "auths.loginTypes.F" {
				t.Fatalf("FullName %q", d.FullName)
			}
		}
		for _, p := range probs {
			if p.File == "" || p.Msg == "" || p.Error() == "" {
				t.Fatalf("incomplete problem %#v", p)
			}
		}

		// The config through the rest of the pipeline, whatever ReadDefinition said.
		merged, err := elements.Merge(elements.ConfigSource{File: "type", JSON: defaults}, elements.ConfigSource{File: "inst", JSON: cfg})
		if err != nil {
			return
		}
		elements.ExpandEnv(merged, env, "inst")
		testSchema.Validate(merged, "inst")
		if _, err := json.Marshal(merged); err != nil {
			t.Fatalf("merged config cannot be marshalled: %v", err)
		}
	})
}
