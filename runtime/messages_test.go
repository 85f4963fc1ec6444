package runtime_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jitwx/jit/elements"
)

// EchoType is a Type whose Provision quotes a config value in its error,
// as a Type's own checks may (WeChatType's authConfig.appId does).
const EchoType = "demo.echo.EchoType"

func init() {
	elements.RegisterType(elements.TypeInfo{
		ID:     EchoType,
		Schema: elements.Schema{Fields: []elements.Field{{Name: "nested", Kind: elements.Object}}},
		New:    func() any { return new(echo) },
	})
}

type echo struct {
	Nested struct {
		Key string `json:"key"`
	} `json:"nested"`
}

func (e *echo) Provision(elements.Context, *elements.Instance) error {
	return elements.Errorf("x", "nested.key", "must be short, not %q", e.Nested.Key)
}

// TestFolderNamesThatCannotBeNames: a folder whose name has a dot, a space
// or a leading punctuation mark is an error naming the folder, and the
// rest of the app still loads.
func TestFolderNamesThatCannotBeNames(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	widget := `{"type":"demo.things.WidgetType"}`
	writeFile(t, filepath.Join(dir, "things", "v1.2", "e.json"), widget)
	writeFile(t, filepath.Join(dir, "things", "my widget", "e.json"), widget)
	writeFile(t, filepath.Join(dir, "things", "-x", "e.json"), widget)
	writeFile(t, filepath.Join(dir, "bad.dir", "Inner", "e.json"), widget)
	writeFile(t, filepath.Join(dir, "things", "Good", "e.json"), widget)
	writeFile(t, filepath.Join(dir, "things", "Good", "Good.json"), `{"size":1}`)
	for _, d := range []string{"v1.2", "my widget", "-x"} {
		writeFile(t, filepath.Join(dir, "things", d, "config.json"), `{"size":1}`)
	}
	writeFile(t, filepath.Join(dir, "bad.dir", "Inner", "config.json"), `{"size":1}`)
	rt := open(t, dir)
	got := problemLines(rt.Snapshot().Problems())
	want := []string{
		`error bad.dir/Inner: folder name "bad.dir" cannot be part of a full name (bad.dir.Inner): it contains a dot, which separates the segments of a full name; rename folder bad.dir`,
		`error things/-x: folder name "-x" cannot be part of a full name (things.-x): it must start with a letter, a digit or _; rename this element's folder`,
		`error things/my widget: folder name "my widget" cannot be part of a full name (things.my widget): it contains a space; rename this element's folder`,
		`error things/v1.2: folder name "v1.2" cannot be part of a full name (things.v1.2): it contains a dot, which separates the segments of a full name; rename this element's folder`,
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n got  %q\n want %q", got, want)
	}
	get(t, rt, "things.Good")
	if _, ok := rt.Snapshot().Get("things.v1.2"); ok {
		t.Error("things.v1.2 was loaded")
	}
}

// TestEnvValueNeverInMessages: a {{VAR}} put in a field whose problems
// quote the value (appId's pattern) is named, never shown; also when a
// Type's own Provision reports it.
func TestEnvValueNeverInMessages(t *testing.T) {
	t.Parallel()
	const secret = "abcdef0123456789abcdef0123456789" // defaultEnv's WECHAT_APP_SECRET
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "auths", "loginTypes", "Pub", "e.json"), `{"type":"auths.loginTypes.WechatPublicType"}`)
	writeFile(t, filepath.Join(dir, "auths", "loginTypes", "Pub", "Pub.json"),
		`{"appId":"{{WECHAT_APP_SECRET}}","appSecret":"{{WECHAT_APP_SECRET}}","title":"{{WECHAT_APP_SECRET}}"}`)
	writeFile(t, filepath.Join(dir, "things", "Echo", "e.json"), `{"type":"`+EchoType+`"}`)
	writeFile(t, filepath.Join(dir, "things", "Echo", "Echo.json"), `{"nested":{"key":"{{ WECHAT_APP_SECRET }}"}}`)
	rt := open(t, dir)
	lines := problemLines(rt.Snapshot().Problems())
	all := strings.Join(lines, "\n")
	if strings.Contains(all, secret) {
		t.Fatalf("a problem shows the variable's value:\n%s", all)
	}
	if !strings.Contains(all, `auths/loginTypes/Pub/Pub.json: appId: must be "wx" followed by 16 lowercase hex digits, not the value of {{WECHAT_APP_SECRET}}`) {
		t.Errorf("appId problem does not name the variable:\n%s", all)
	}
	if want := "error x: nested.key: must be short, not the value of {{ WECHAT_APP_SECRET }}"; !slices.Contains(lines, want) {
		t.Errorf("Provision's problem does not name the variable: want %q in\n%s", want, all)
	}
}

// TestJitAiConfigKeys: JitAi's own keys are not unknown; authConfig on a
// WechatPublicType says where appId and appSecret go.
func TestJitAiConfigKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "auths", "loginTypes", "Pub", "e.json"),
		`{"type":"auths.loginTypes.WechatPublicType","fullName":"auths.loginTypes.Pub","allowRegister":1,"default":1,"backendBundleEntry":".","frontBundleEntry":"./Pub.json","isActive":true}`)
	writeFile(t, filepath.Join(dir, "auths", "loginTypes", "Pub", "Pub.json"),
		`{"appId":"wx0123456789abcdef","appSecret":"{{WECHAT_APP_SECRET}}","isActive":1,"fullName":"auths.loginTypes.Pub","authConfig":{"appId":"wx0123456789abcdef"},"appid":"x"}`)
	writeFile(t, filepath.Join(dir, "auths", "loginTypes", "Moved", "e.json"),
		`{"type":"auths.loginTypes.WechatPublicType","fullName":"auths.loginTypes.Old"}`)
	writeFile(t, filepath.Join(dir, "auths", "loginTypes", "Moved", "Moved.json"),
		`{"appId":"wx0123456789abcdef","appSecret":"{{WECHAT_APP_SECRET}}"}`)
	rt := open(t, dir)
	got := problemLines(rt.Snapshot().Problems())
	slices.Sort(got)
	want := []string{
		`warning auths/loginTypes/Moved/e.json: fullName: "auths.loginTypes.Old" does not match the folder path auths/loginTypes/Moved (full name auths.loginTypes.Moved); the folder path wins`,
		`warning auths/loginTypes/Pub/Pub.json: appid: unknown key (ignored; did you mean appId?)`,
		`warning auths/loginTypes/Pub/Pub.json: authConfig: unknown key (ignored): WechatPublicType takes appId and appSecret at the top level of its config, not inside authConfig (authConfig is the layout of WeChatType, the website-app login)`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n got  %q\n want %q", got, want)
	}
	get(t, rt, "auths.loginTypes.Pub")
	get(t, rt, "auths.loginTypes.Moved")
}
