// Package wechatpublic is the WeChat Official Account (公众号) login Type,
// auths.loginTypes.WechatPublicType: web authorization inside WeChat with
// snsapi_base or snsapi_userinfo. Importing it registers the Type, the way
// a database/sql driver registers itself:
//
//	import _ "github.com/jitwx/jit/auths/wechatpublic"
package wechatpublic

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/jitwx/jit/auths"
	"github.com/jitwx/jit/auths/internal/wechat"
	"github.com/jitwx/jit/elements"
	"github.com/jitwx/jit/services"
)

// Type is the full name of the WeChat Official Account login Type.
const Type = "auths.loginTypes.WechatPublicType"

// ServiceName is the sub-element every instance owns.
const ServiceName = "services.WechatPublicAuthSvc"

func init() {
	auths.RegisterType(auths.Type{
		TypeInfo: elements.TypeInfo{
			ID:     Type,
			Schema: schema,
			New:    func() any { return new(Login) },
		},
		Simulate: func(browserBase, apiBase string) map[string]any {
			return map[string]any{"authorizeUrl": browserBase + "/connect/oauth2/authorize", "apiBaseUrls": []any{apiBase}}
		},
	})
}

var (
	_ elements.Provisioner = (*Login)(nil)
	_ elements.Parent      = (*Login)(nil)
	_ auths.Provider       = (*Login)(nil)
	_ auths.Unbinder       = (*Login)(nil)
	_ auths.Simulated      = (*Login)(nil)
	_ auths.CrossDevice    = (*Login)(nil)
)

// schema is config's, with advice for a layout of another Type.
var schema = elements.MustSchemaOf[config]().WithHints(map[string]string{"authConfig": "WechatPublicType takes appId and appSecret at the top level of its config, not inside authConfig (authConfig is the layout of WeChatType, the website-app login)"})

// config is the business config of an instance, and its one description:
// the json tags are the keys; the other tags their rules and defaults
// (elements.SchemaOf); elements.Build fills the defaults in before
// decoding the merged config here. It is unexported so that marshalling an element can
// never reveal the secret.
type config struct {
	AppID        string     `json:"appId" required:"true" pattern:"^wx[0-9a-f]{16}$" hint:"\"wx\" followed by 16 lowercase hex digits"`
	AppSecret    string     `json:"appSecret" required:"true" secret:"true" pattern:"^[0-9A-Za-z]{16,64}$" hint:"16 to 64 letters and digits (the AppSecret, normally {{WECHAT_APP_SECRET}})"`
	Scope        string     `json:"scope" default:"snsapi_userinfo" enum:"snsapi_base,snsapi_userinfo"`
	State        string     `json:"state" pattern:"^[0-9A-Za-z]{0,32}$" hint:"at most 32 letters and digits (WeChat allows 128 in all; the rest is the per-login token)"`
	QRTicketTTL  ticketTTL  `json:"qrTicketTtl" default:"120"` // seconds
	AuthorizeURL wechat.URL `json:"authorizeUrl" default:"https://open.weixin.qq.com/connect/oauth2/authorize"`
	wechat.API
	auths.Common
}

// ticketTTL is a desktop QR ticket's life in seconds: long enough to find
// the phone and confirm, short enough that a photographed QR goes stale.
type ticketTTL int

// CheckConfig is elements.Checker.
func (ticketTTL) CheckConfig(v any) error {
	n := v.(float64)
	if n != float64(int(n)) || n < 30 || n > 600 {
		return fmt.Errorf("must be a whole number of seconds from 30 to 600, not %v", n)
	}
	return nil
}

// Login is a live WeChat Official Account login element: one instance of
// auths.loginTypes.WechatPublicType, bound to its config.
type Login struct {
	cfg      config
	fullName string
	title    string
	policy   auths.Policy
	svc      *services.WechatPublicAuthSvc
}

// UnmarshalJSON receives the merged, validated config from the runtime.
func (w *Login) UnmarshalJSON(b []byte) error { return json.Unmarshal(b, &w.cfg) }

// MarshalJSON shows what is safe to show.
func (w *Login) MarshalJSON() ([]byte, error) { return json.Marshal(w.Public()) }

// String never includes the secret.
func (w *Login) String() string {
	return fmt.Sprintf("WechatPublicLogin{%s appId=%s scope=%s}", w.fullName, w.cfg.AppID, w.cfg.Scope)
}

// GoString covers %#v, which would otherwise print the config's fields.
func (w *Login) GoString() string { return "&wechatpublic." + w.String() }

// Provision builds the instance's WechatPublicAuthSvc.
func (w *Login) Provision(ctx elements.Context, inst *elements.Instance) error {
	w.fullName, w.title = inst.FullName(), inst.Def.Title
	var err error
	if w.policy, err = auths.NewPolicy(inst.Def, w.cfg.Common); err != nil {
		return err
	}
	w.svc = wechat.Service(ctx, services.WechatConfig{
		LoginType: w.fullName, AppID: w.cfg.AppID, AppSecret: w.cfg.AppSecret,
		Scope: w.cfg.Scope, Lang: w.cfg.Lang, APIBaseURLs: w.cfg.APIBaseURLs,
	})
	return nil
}

// Children exposes the service as <instance>.services.WechatPublicAuthSvc.
func (w *Login) Children() map[string]any {
	return map[string]any{ServiceName: w.svc}
}

// FullName is the instance's full name, e.g. auths.loginTypes.MyWechatLogin.
func (w *Login) FullName() string { return w.fullName }

// AppID is the Official Account's AppID.
func (w *Login) AppID() string { return w.cfg.AppID }

// Scope is snsapi_base or snsapi_userinfo.
func (w *Login) Scope() string { return w.cfg.Scope }

// Service is the instance's WechatPublicAuthSvc.
func (w *Login) Service() *services.WechatPublicAuthSvc { return w.svc }

// StateMarker is the configured fixed part of state, for the app's own use.
func (w *Login) StateMarker() string { return w.cfg.State }

// Policy is the element's registration and linking rules.
func (w *Login) Policy() auths.Policy { return w.policy }

// Public is what the front end may see.
func (w *Login) Public() auths.PublicConfig {
	return auths.PublicConfig{FullName: w.fullName, Type: Type, Title: w.title, AppID: w.cfg.AppID,
		Scope: w.cfg.Scope, Default: w.policy.Default}
}

// QRTicketTTL is how long a desktop's QR ticket lives (qrTicketTtl).
func (w *Login) QRTicketTTL() time.Duration { return time.Duration(w.cfg.QRTicketTTL) * time.Second }

// SimulatorApp is the app dev mode's simulator must know.
func (w *Login) SimulatorApp() (appID, secret string) { return w.cfg.AppID, w.cfg.AppSecret }

// AuthCodeURL is the WeChat authorize URL for one login. WeChat matches
// the parameter order strictly, so the query is written by hand rather than
// by url.Values (which sorts keys); #wechat_redirect must come last.
// state is prefixed with the configured marker, if any.
func (w *Login) AuthCodeURL(redirectURI, state string) string {
	sep := "?"
	if strings.Contains(string(w.cfg.AuthorizeURL), "?") {
		sep = "&"
	}
	var b strings.Builder
	b.WriteString(string(w.cfg.AuthorizeURL))
	b.WriteString(sep + "appid=" + url.QueryEscape(w.cfg.AppID))
	b.WriteString("&redirect_uri=" + url.QueryEscape(redirectURI))
	b.WriteString("&response_type=code")
	b.WriteString("&scope=" + url.QueryEscape(w.cfg.Scope))
	b.WriteString("&state=" + url.QueryEscape(w.cfg.State+state))
	b.WriteString("#wechat_redirect")
	return b.String()
}

// Exchange sends the code to WeChat and fetches the profile (for
// snsapi_userinfo). The tokens are saved with the user by Login.Save.
func (w *Login) Exchange(ctx context.Context, code string) (*auths.Login, error) {
	return wechat.Exchange(ctx, w.svc, w.fullName, w.cfg.AppID, wording, code)
}

// wording speaks of logging in again: the person is inside WeChat.
var wording = wechat.Wording{
	SnapshotUser: "当前是预览页面，请点击页面底部的「使用完整服务」后再登录。",
	CodeUsed:     "这个登录链接已经用过了，请重新登录。",
	CodeInvalid:  "微信授权码无效或已过期，请重新登录。",
}

// Unbind forgets the stored tokens and profile of the identity.
func (w *Login) Unbind(ctx context.Context, tx *gorm.DB, id auths.Identity) error {
	return wechat.Unbind(ctx, w.svc, tx, id)
}
