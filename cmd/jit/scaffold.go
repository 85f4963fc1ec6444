package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/jitwx/jit/auths/wechatpublic"
	"github.com/jitwx/jit/elements"
)

var elementName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,63}$`)

// loginTemplate is what `jit new TEMPLATE NAME` writes: a login instance's
// e.json and its NAME.json, whose secret comes from SecretVar.
type loginTemplate struct {
	Name      string // the TEMPLATE argument
	Type      string // the login Type the instance is typed by
	Title     string // the instance's e.json title
	AppIDHelp string // what --appid is
	SecretVar string // the environment variable holding the AppSecret
	Config    string // NAME.json; %q is the AppID
	Keys      string // how the output names the config's keys
	Domain    string // next step: where WeChat is told this site's domain
	Verify    bool   // the domain is proven with an MP_verify_*.txt file
}

var loginTemplates = []loginTemplate{
	{
		Name: "wechat-login", Type: "auths.loginTypes.WechatPublicType", Title: "微信公众号登录",
		AppIDHelp: "the Official Account's AppID", SecretVar: "WECHAT_APP_SECRET",
		Config: `{
  "appId": %q,
  "appSecret": "{{WECHAT_APP_SECRET}}",
  "scope": "snsapi_userinfo"
}
`,
		Keys:   "appId %s, appSecret",
		Domain: "in the 公众号 admin (mp.weixin.qq.com → 设置与开发 → 公众号设置 → 功能设置), set 网页授权域名 to this site's host",
		Verify: true,
	},
	{
		Name: "wechat-web-login", Type: "auths.loginTypes.WeChatType", Title: "微信扫码登录",
		AppIDHelp: "the Open Platform website app's AppID", SecretVar: "WECHAT_WEB_APP_SECRET",
		Config: `{
  "authConfig": {
    "appId": %q,
    "appSecret": "{{WECHAT_WEB_APP_SECRET}}"
  }
}
`,
		Keys:   "authConfig.appId %s, authConfig.appSecret",
		Domain: "on open.weixin.qq.com → 网站应用, set the website app's 授权回调域 (authorized callback domain) to this site's host: WeChat sends the browser back only there",
	},
}

const newSynopsis = "new TEMPLATE NAME --appid wx... [--app DIR]"

func templateNames() string {
	names := make([]string, len(loginTemplates))
	for i, t := range loginTemplates {
		names[i] = t.Name
	}
	return strings.Join(names, ", ")
}

func newUsage(w io.Writer) {
	fmt.Fprintf(w, "Usage: jit %s\n\nTemplates:\n", newSynopsis)
	for _, t := range loginTemplates {
		fmt.Fprintf(w, "  %-17s %s (%s), secret from $%s\n", t.Name, t.Title, t.Type, t.SecretVar)
	}
}

func scaffold(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		newUsage(stderr)
		return nil
	}
	var tmpl *loginTemplate
	for i := range loginTemplates {
		if len(args) > 0 && args[0] == loginTemplates[i].Name {
			tmpl = &loginTemplates[i]
		}
	}
	if tmpl == nil {
		return fmt.Errorf("usage: jit %s (TEMPLATE is one of %s)", newSynopsis, templateNames())
	}
	fs := newFlags("new", "new "+tmpl.Name+" NAME --appid wx... [--app DIR]", stderr)
	dir := fs.String("app", ".", "app folder")
	appID := fs.String("appid", "", tmpl.AppIDHelp+" (required)")
	// Accept NAME before or after the flags.
	rest := args[1:]
	var name string
	if len(rest) > 0 && len(rest[0]) > 0 && rest[0][0] != '-' {
		name, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if name == "" && fs.NArg() == 1 {
		name = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if !elementName.MatchString(name) {
		return fmt.Errorf("NAME %q must start with a letter and hold only letters, digits and _", name)
	}
	if msg := appIDProblem(*appID); msg != "" {
		fmt.Fprintf(stderr, "jit new: %s\n", msg)
		return exitError(2)
	}
	folder := filepath.Join(*dir, "auths", "loginTypes", name)
	if _, err := os.Stat(folder); err == nil {
		return fmt.Errorf("%s already exists", folder)
	}
	if err := os.MkdirAll(folder, 0o755); err != nil {
		return err
	}
	files := map[string]string{
		// JitAi's usual e.json keys for a login instance.
		"e.json": fmt.Sprintf(`{
  "title": %q,
  "type": %q,
  "allowRegister": 1,
  "backendBundleEntry": ".",
  "frontBundleEntry": %q
}
`, tmpl.Title, tmpl.Type, "./"+name+".json"),
		name + ".json": fmt.Sprintf(tmpl.Config, *appID),
	}
	for file, body := range files {
		if err := os.WriteFile(filepath.Join(folder, file), []byte(body), 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "created %s\n  e.json         type %s\n  %s  %s from $%s\n", folder, tmpl.Type, name+".json",
		fmt.Sprintf(tmpl.Keys, *appID), tmpl.SecretVar)
	fmt.Fprintf(stdout, "login URL: /auths/loginTypes/%s/login?redirectUrl=/\n", name)
	fmt.Fprintf(stdout, "next steps:\n  1. export %s=...   the AppSecret: it never goes in a file\n  2. %s\n", tmpl.SecretVar, tmpl.Domain)
	if tmpl.Verify {
		fmt.Fprintf(stdout, "  3. that page gives you an MP_verify_*.txt file: put it in %s (served at /, where WeChat checks it)\n",
			filepath.Join(*dir, "public")+string(filepath.Separator))
	}
	return nil
}

// appIDProblem is what is wrong with --appid, in the words jit validate
// uses for a bad appId: the check is WechatPublicType's own appId field
// (WeChatType's authConfig.appId has the same pattern), so the rule lives
// in one place.
func appIDProblem(appID string) string {
	info, ok := elements.Default.Lookup(wechatpublic.Type)
	field, found := info.Schema.Field("appId")
	if !ok || !found {
		panic("jit new: " + wechatpublic.Type + " has no appId field")
	}
	if appID == "" {
		return fmt.Sprintf("--appid is required: it must be %s", field.Hint)
	}
	field.Required = true
	for _, p := range (elements.Schema{Fields: []elements.Field{field}}).Validate(map[string]any{field.Name: appID}, "--appid") {
		if p.Severity == elements.SeverityError {
			return fmt.Sprintf("--appid: %s", p.Msg)
		}
	}
	return ""
}
