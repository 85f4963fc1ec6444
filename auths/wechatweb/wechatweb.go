// Package wechatweb is the WeChat Open Platform website-app login Type
// (微信开放平台 网站应用 扫码登录), auths.loginTypes.WeChatType: a desktop
// browser is sent to WeChat's QR page (open.weixin.qq.com/connect/qrconnect,
// scope snsapi_login), the person scans it with WeChat and confirms, and the
// browser comes back to the login element's callback. Importing it registers
// the Type, the way a database/sql driver registers itself:
//
//	import _ "github.com/jitwx/jit/auths/wechatweb"
//
// Its config follows JitAi's layout, with the credentials nested:
//
//	{"authConfig": {"appId": "wx…", "appSecret": "{{WECHAT_WEB_APP_SECRET}}"}}
//
// The code exchange, /sns/userinfo and token storage are the Official
// Account's (services.WechatPublicAuthSvc): the API is the same. The same
// person has a different openid in the website app and in a 公众号 of the
// same Open Platform account, and one unionid in both, so the family layer
// (linkByUnionid) makes the two identities one user.
package wechatweb

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"gorm.io/gorm"

	"github.com/jitwx/jit/auths"
	"github.com/jitwx/jit/auths/internal/wechat"
	"github.com/jitwx/jit/elements"
	"github.com/jitwx/jit/services"
)

// Type is the full name of the website-app login Type.
const Type = "auths.loginTypes.WeChatType"

// ServiceName is the sub-element every instance owns: its WeChat API client.
const ServiceName = "services.WeChatAuthSvc"

// Scope is the only scope of website-app login.
const Scope = "snsapi_login"

func init() {
	auths.RegisterType(auths.Type{
		TypeInfo: elements.TypeInfo{
			ID:     Type,
			Schema: schema,
			New:    func() any { return new(Login) },
		},
		Simulate: simulate,
	})
}

// simulate points an instance at dev mode's simulator: its QR page.
func simulate(browserBase, apiBase string) map[string]any {
	return map[string]any{"authorizeUrl": browserBase + "/connect/qrconnect", "apiBaseUrls": []any{apiBase}}
}

var (
	_ elements.Provisioner = (*Login)(nil)
	_ elements.Parent      = (*Login)(nil)
	_ auths.Provider       = (*Login)(nil)
	_ auths.Unbinder       = (*Login)(nil)
	_ auths.Simulated      = (*Login)(nil)
)

// config is the business config of an instance, and its one description:
// the json tags are the keys; the other tags their rules and defaults
// (elements.SchemaOf: schema and authSchema); elements.Build fills the
// defaults in before decoding the merged config here. authorizeUrl's default is
// WeChat's QR login page. It is unexported, and authConfig redacts itself,
// so that printing or marshalling an element can never reveal the secret.
type config struct {
	AuthConfig   authConfig `json:"authConfig"`
	AuthorizeURL wechat.URL `json:"authorizeUrl" default:"https://open.weixin.qq.com/connect/qrconnect"`
	wechat.API
	auths.Common
}

// authConfig is JitAi's nested credentials object. The runtime's schema
// checks the top level only, so it decodes leniently (a value of the wrong
// type is kept for Provision to report with its path, authConfig.appId,
// instead of failing the decode with a Go type error).
type authConfig struct {
	AppID     string `json:"appId" required:"true" pattern:"^wx[0-9a-f]{16}$" hint:"\"wx\" followed by 16 lowercase hex digits (the website app's AppID)"`
	AppSecret string `json:"appSecret" required:"true" secret:"true" pattern:"^[0-9A-Za-z]{16,64}$" hint:"16 to 64 letters and digits (the website app's AppSecret, normally {{WECHAT_WEB_APP_SECRET}})"`

	raw       map[string]any // as decoded, for Provision's checks
	notObject bool           // authConfig was present but not an object
}

// UnmarshalJSON decodes leniently; see authConfig.
func (a *authConfig) UnmarshalJSON(b []byte) error {
	*a = authConfig{}
	if string(b) == "null" {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		a.notObject = true
		return nil
	}
	a.raw = m
	a.AppID, _ = m["appId"].(string)
	a.AppSecret, _ = m["appSecret"].(string)
	return nil
}

// MarshalJSON never includes the secret.
func (a authConfig) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"appId": a.AppID, "appSecret": redacted(a.AppSecret)})
}

// String never includes the secret.
func (a authConfig) String() string {
	return fmt.Sprintf("authConfig{appId:%s appSecret:%s}", a.AppID, redacted(a.AppSecret))
}

// GoString covers %#v.
func (a authConfig) GoString() string { return "wechatweb." + a.String() }

// LogValue keeps the secret out of slog output.
func (a authConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("appId", a.AppID), slog.String("appSecret", redacted(a.AppSecret)))
}

func redacted(secret string) string {
	if secret == "" {
		return ""
	}
	return "[REDACTED]"
}

// schema is config's top level. authConfig's own keys are authSchema,
// which Provision applies: a schema checks objects at the top level only.
var schema = elements.MustSchemaOf[config]()

// authSchema is the keys of authConfig; problems name them authConfig.<key>.
var authSchema = elements.MustSchemaOf[authConfig]()

const authConfigKey = "authConfig"

// check validates authConfig. It returns the error-level problems and the
// warnings (unknown keys) separately; each names file and authConfig.<key>.
func (a authConfig) check(file string) (errs, warnings elements.Problems) {
	if a.notObject {
		return elements.Problems{elements.Errorf(file, authConfigKey, "must be an object")}, nil
	}
	for _, p := range authSchema.Validate(a.raw, file) {
		p.Field = authConfigKey + "." + p.Field
		if p.Severity == elements.SeverityError {
			errs = append(errs, p)
		} else {
			warnings = append(warnings, p)
		}
	}
	return errs, warnings
}

// Login is a live website-app login element: one instance of
// auths.loginTypes.WeChatType, bound to its config.
type Login struct {
	cfg      config
	fullName string
	title    string
	policy   auths.Policy
	svc      *services.WechatPublicAuthSvc
}

// UnmarshalJSON receives the merged, validated config from the runtime.
func (w *Login) UnmarshalJSON(b []byte) error { return json.Unmarshal(b, &w.cfg) }

// The printing methods have value receivers so that a copied Login (fmt of
// *elem) is covered as well as the *Login the runtime hands out.

// MarshalJSON shows what is safe to show.
func (w Login) MarshalJSON() ([]byte, error) { return json.Marshal(w.Public()) }

// String never includes the secret.
func (w Login) String() string {
	return fmt.Sprintf("WeChatWebLogin{%s appId=%s scope=%s}", w.fullName, w.cfg.AuthConfig.AppID, Scope)
}

// GoString covers %#v, which would otherwise print the config's fields.
func (w Login) GoString() string { return "&wechatweb." + w.String() }

// LogValue keeps slog output to what is safe to show.
func (w Login) LogValue() slog.Value {
	return slog.GroupValue(slog.String("element", w.fullName), slog.String("appid", w.cfg.AuthConfig.AppID))
}

// Provision checks authConfig (the runtime's schema stops at the top
// level) and builds the instance's WeChat API client. A broken authConfig
// is an *elements.Problem naming the config file and authConfig.<key>.
func (w *Login) Provision(ctx elements.Context, inst *elements.Instance) error {
	w.fullName, w.title = inst.FullName(), inst.Def.Title
	file := inst.ConfigFile
	errs, warnings := w.cfg.AuthConfig.check(file)
	for _, p := range warnings {
		ctx.Logger().Warn("element config", "problem", p.Error())
	}
	switch len(errs) {
	case 0:
	case 1:
		return errs[0]
	default:
		return errs.Err() // every problem, joined; the runtime shows the first
	}
	var err error
	if w.policy, err = auths.NewPolicy(inst.Def, w.cfg.Common); err != nil {
		return err
	}
	w.svc = wechat.Service(ctx, services.WechatConfig{
		LoginType: w.fullName, AppID: w.cfg.AuthConfig.AppID, AppSecret: w.cfg.AuthConfig.AppSecret,
		Scope: Scope, Lang: w.cfg.Lang, APIBaseURLs: w.cfg.APIBaseURLs,
	})
	return nil
}

// Children exposes the service as <instance>.services.WeChatAuthSvc.
func (w *Login) Children() map[string]any {
	return map[string]any{ServiceName: w.svc}
}

// FullName is the instance's full name, e.g. auths.loginTypes.MyWebLogin.
func (w *Login) FullName() string { return w.fullName }

// AppID is the website app's AppID.
func (w *Login) AppID() string { return w.cfg.AuthConfig.AppID }

// Scope is always snsapi_login.
func (w *Login) Scope() string { return Scope }

// Service is the instance's WeChat API client.
func (w *Login) Service() *services.WechatPublicAuthSvc { return w.svc }

// Policy is the element's registration and linking rules.
func (w *Login) Policy() auths.Policy { return w.policy }

// Public is what the front end may see.
func (w Login) Public() auths.PublicConfig {
	return auths.PublicConfig{FullName: w.fullName, Type: Type, Title: w.title, AppID: w.cfg.AuthConfig.AppID,
		Scope: Scope, Default: w.policy.Default}
}

// SimulatorApp is the app dev mode's simulator must know.
func (w *Login) SimulatorApp() (appID, secret string) {
	return w.cfg.AuthConfig.AppID, w.cfg.AuthConfig.AppSecret
}

// AuthCodeURL is WeChat's QR login URL for one login:
// …/connect/qrconnect?appid=…&redirect_uri=…&response_type=code&scope=snsapi_login&state=…#wechat_redirect.
// WeChat documents that parameter order, so the query is written by hand
// rather than by url.Values (which sorts keys); every value is escaped and
// #wechat_redirect comes last.
func (w *Login) AuthCodeURL(redirectURI, state string) string {
	sep := "?"
	if strings.Contains(string(w.cfg.AuthorizeURL), "?") {
		sep = "&"
	}
	var b strings.Builder
	b.WriteString(string(w.cfg.AuthorizeURL))
	b.WriteString(sep + "appid=" + url.QueryEscape(w.cfg.AuthConfig.AppID))
	b.WriteString("&redirect_uri=" + url.QueryEscape(redirectURI))
	b.WriteString("&response_type=code")
	b.WriteString("&scope=" + Scope)
	b.WriteString("&state=" + url.QueryEscape(state))
	b.WriteString("#wechat_redirect")
	return b.String()
}

// Exchange sends the code to WeChat and fetches the profile: a snsapi_login
// token may call /sns/userinfo. The tokens are saved with the user by
// Login.Save.
func (w *Login) Exchange(ctx context.Context, code string) (*auths.Login, error) {
	return wechat.Exchange(ctx, w.svc, w.fullName, w.cfg.AuthConfig.AppID, wording, code)
}

// wording speaks of scanning: the person is at a screen.
var wording = wechat.Wording{
	SnapshotUser: "这个微信身份是临时的预览身份，不能登录，请用微信扫码并确认登录。",
	CodeUsed:     "这次扫码登录已经用过了，请重新扫码登录。",
	CodeInvalid:  "微信授权码无效或已过期，请重新扫码登录。",
}

// Unbind forgets the stored tokens and profile of the identity.
func (w *Login) Unbind(ctx context.Context, tx *gorm.DB, id auths.Identity) error {
	return wechat.Unbind(ctx, w.svc, tx, id)
}
