package auths

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/jitwx/jit/elements"
	"github.com/jitwx/jit/services"
)

// WechatPublicType is the full name of the WeChat Official Account login Type.
const WechatPublicType = "auths.loginTypes.WechatPublicType"

// ServiceName is the sub-element every WeChat login instance owns.
const ServiceName = "services.WechatPublicAuthSvc"

func init() {
	elements.RegisterType(elements.TypeInfo{
		ID:     WechatPublicType,
		Schema: wechatSchema,
		New:    func() any { return new(WechatLogin) },
	})
}

var (
	_ elements.Provisioner = (*WechatLogin)(nil)
	_ elements.Parent      = (*WechatLogin)(nil)
)

var wechatSchema = elements.Schema{Fields: []elements.Field{
	{Name: "appId", Kind: elements.String, Required: true,
		Pattern: regexp.MustCompile(`^wx[0-9a-f]{16}$`), Hint: `"wx" followed by 16 lowercase hex digits`},
	{Name: "appSecret", Kind: elements.String, Required: true, Secret: true,
		Pattern: regexp.MustCompile(`^[0-9A-Za-z]{16,64}$`), Hint: "16 to 64 letters and digits (the AppSecret, normally {{WECHAT_APP_SECRET}})"},
	{Name: "scope", Kind: elements.String, Enum: []string{"snsapi_base", "snsapi_userinfo"}},
	{Name: "state", Kind: elements.String,
		Pattern: regexp.MustCompile(`^[0-9A-Za-z]{0,32}$`), Hint: "at most 32 letters and digits (WeChat allows 128 in all; the rest is the per-login token)"},
	{Name: "authorizeUrl", Kind: elements.String, Check: checkURL},
	{Name: "apiBaseUrls", Kind: elements.StringArray, Check: checkURLList},
	{Name: "lang", Kind: elements.String, Enum: []string{"zh_CN", "zh_TW", "en"}},
	{Name: "allowedRedirectHosts", Kind: elements.StringArray},
}}

func checkURL(v any) error {
	s := v.(string)
	if strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//") {
		return nil // same server: simulators and reverse proxies
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("must be an absolute http(s) URL, not %q", s)
	}
	if u.Fragment != "" {
		return errors.New("must not contain a #fragment")
	}
	return nil
}

func checkURLList(v any) error {
	list := v.([]any)
	if len(list) == 0 {
		return errors.New("must list at least one URL")
	}
	for i, x := range list {
		if err := checkURL(x); err != nil {
			return fmt.Errorf("[%d] %w", i, err)
		}
	}
	return nil
}

// wechatConfig is the business config of a WeChat login instance. It is
// unexported so that marshalling an element can never reveal the secret.
type wechatConfig struct {
	AppID                string   `json:"appId"`
	AppSecret            string   `json:"appSecret"`
	Scope                string   `json:"scope"`
	State                string   `json:"state"`
	AuthorizeURL         string   `json:"authorizeUrl"`
	APIBaseURLs          []string `json:"apiBaseUrls"`
	Lang                 string   `json:"lang"`
	AllowedRedirectHosts []string `json:"allowedRedirectHosts"`
}

// WechatLogin is a live WeChat Official Account login element: one
// instance of auths.loginTypes.WechatPublicType, bound to its config.
type WechatLogin struct {
	cfg      wechatConfig
	fullName string
	svc      *services.WechatPublicAuthSvc
}

// UnmarshalJSON receives the merged, validated config from the runtime.
func (w *WechatLogin) UnmarshalJSON(b []byte) error { return json.Unmarshal(b, &w.cfg) }

// MarshalJSON shows what is safe to show.
func (w *WechatLogin) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{"fullName": w.fullName, "appId": w.cfg.AppID, "scope": w.cfg.Scope})
}

// String never includes the secret.
func (w *WechatLogin) String() string {
	return fmt.Sprintf("WechatLogin{%s appId=%s scope=%s}", w.fullName, w.cfg.AppID, w.cfg.Scope)
}

// GoString covers %#v, which would otherwise print the config's fields.
func (w *WechatLogin) GoString() string { return "&auths." + w.String() }

// Provision builds the instance's WechatPublicAuthSvc.
func (w *WechatLogin) Provision(_ context.Context, inst *elements.Instance) error {
	w.fullName = inst.FullName()
	var opts []services.Option
	if inst.Host.HTTPClient != nil {
		opts = append(opts, services.WithHTTPClient(inst.Host.HTTPClient))
	}
	if inst.Host.ObserveUpstream != nil {
		opts = append(opts, services.WithObserver(inst.Host.ObserveUpstream))
	}
	if inst.Host.Sealer != nil {
		opts = append(opts, services.WithTokenCipher(inst.Host.Sealer))
	}
	if inst.Host.Logger != nil {
		opts = append(opts, services.WithLogger(inst.Host.Logger.With("element", w.fullName)))
	}
	w.svc = services.NewWechatPublicAuthSvc(services.WechatConfig{
		LoginType: w.fullName, AppID: w.cfg.AppID, AppSecret: w.cfg.AppSecret,
		Scope: w.cfg.Scope, Lang: w.cfg.Lang, APIBaseURLs: w.cfg.APIBaseURLs,
	}, inst.Host.DB, opts...)
	return nil
}

// Children exposes the service as <instance>.services.WechatPublicAuthSvc.
func (w *WechatLogin) Children() map[string]any {
	return map[string]any{ServiceName: w.svc}
}

// FullName is the instance's full name, e.g. auths.loginTypes.MyWechatLogin.
func (w *WechatLogin) FullName() string { return w.fullName }

// AppID is the Official Account's AppID.
func (w *WechatLogin) AppID() string { return w.cfg.AppID }

// Scope is snsapi_base or snsapi_userinfo.
func (w *WechatLogin) Scope() string { return w.cfg.Scope }

// Service is the instance's WechatPublicAuthSvc.
func (w *WechatLogin) Service() *services.WechatPublicAuthSvc { return w.svc }

// AllowedRedirectHosts are hosts other than the app's own that a login may
// return to.
func (w *WechatLogin) AllowedRedirectHosts() []string { return w.cfg.AllowedRedirectHosts }

// AuthorizeURL is the WeChat authorize URL for one login. WeChat matches
// the parameter order strictly, so the query is written by hand rather than
// by url.Values (which sorts keys); #wechat_redirect must come last.
// state is prefixed with the configured marker, if any.
func (w *WechatLogin) AuthorizeURL(redirectURI, state string) string {
	sep := "?"
	if strings.Contains(w.cfg.AuthorizeURL, "?") {
		sep = "&"
	}
	var b strings.Builder
	b.WriteString(w.cfg.AuthorizeURL)
	b.WriteString(sep + "appid=" + url.QueryEscape(w.cfg.AppID))
	b.WriteString("&redirect_uri=" + url.QueryEscape(redirectURI))
	b.WriteString("&response_type=code")
	b.WriteString("&scope=" + url.QueryEscape(w.cfg.Scope))
	b.WriteString("&state=" + url.QueryEscape(w.cfg.State+state))
	b.WriteString("#wechat_redirect")
	return b.String()
}

// StateMarker is the configured fixed part of state, for the app's own use.
func (w *WechatLogin) StateMarker() string { return w.cfg.State }

// IsWechatBrowser reports whether this login can run in the browser.
func (w *WechatLogin) IsWechatBrowser(userAgent string) bool { return IsWechatBrowser(userAgent) }
