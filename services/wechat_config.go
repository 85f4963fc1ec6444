package services

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// defaultWechatAPIBaseURLs are WeChat's main API domain and its documented
// disaster-recovery backup, tried in order.
var defaultWechatAPIBaseURLs = []string{"https://api.weixin.qq.com", "https://api2.weixin.qq.com"}

// WechatConfig configures one WeChat login element instance. Its String,
// GoString and LogValue redact AppSecret, so printing or logging it is safe.
type WechatConfig struct {
	LoginType   string // full name of the login element
	AppID       string
	AppSecret   string
	Scope       string   // snsapi_base, snsapi_userinfo or (website app) snsapi_login; default snsapi_userinfo
	Lang        string   // userinfo language: zh_CN (default), zh_TW, en
	APIBaseURLs []string // tried in order; default api.weixin.qq.com, then api2.weixin.qq.com
}

func redacted(secret string) string {
	if secret == "" {
		return ""
	}
	return "[REDACTED]"
}

func (c WechatConfig) String() string {
	return fmt.Sprintf("WechatConfig{LoginType:%q AppID:%q AppSecret:%s Scope:%q Lang:%q APIBaseURLs:%q}",
		c.LoginType, c.AppID, redacted(c.AppSecret), c.Scope, c.Lang, c.APIBaseURLs)
}

// GoString covers %#v, which bypasses String.
func (c WechatConfig) GoString() string { return "services." + c.String() }

// MarshalJSON keeps the secret out of JSON too.
func (c WechatConfig) MarshalJSON() ([]byte, error) {
	type fields WechatConfig // without this method
	f := fields(c)
	f.AppSecret = redacted(c.AppSecret)
	return json.Marshal(f)
}

// LogValue keeps the secret out of slog output.
func (c WechatConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("login_type", c.LoginType),
		slog.String("appid", c.AppID),
		slog.String("app_secret", redacted(c.AppSecret)),
		slog.String("scope", c.Scope),
		slog.String("lang", c.Lang),
		slog.Any("api_base_urls", c.APIBaseURLs),
	)
}

// String, GoString and LogValue keep the secret out of %v, %+v, %#v and
// slog output of the service, which would otherwise print its config field.
func (s *WechatPublicAuthSvc) String() string {
	return "WechatPublicAuthSvc{" + s.cfg.String() + "}"
}

// GoString covers %#v.
func (s *WechatPublicAuthSvc) GoString() string { return "&services." + s.String() }

// LogValue logs the redacted config.
func (s *WechatPublicAuthSvc) LogValue() slog.Value { return s.cfg.LogValue() }

// Validate reports configuration errors without revealing the secret.
func (c WechatConfig) Validate() error {
	var errs []error
	if c.AppID == "" {
		errs = append(errs, errors.New("appid is empty"))
	}
	if c.AppSecret == "" {
		errs = append(errs, errors.New("app secret is empty"))
	}
	switch c.Scope {
	case "", "snsapi_base", "snsapi_userinfo", "snsapi_login":
	default:
		errs = append(errs, fmt.Errorf("scope %q is not snsapi_base, snsapi_userinfo or snsapi_login", c.Scope))
	}
	switch c.Lang {
	case "", "zh_CN", "zh_TW", "en":
	default:
		errs = append(errs, fmt.Errorf("lang %q is not zh_CN, zh_TW or en", c.Lang))
	}
	for _, u := range c.APIBaseURLs {
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			errs = append(errs, fmt.Errorf("api base url %q is not http(s)", u))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("wechat config %q: %w", c.LoginType, err)
	}
	return nil
}

// withDefaults fills the defaults the service relies on.
func (c WechatConfig) withDefaults() WechatConfig {
	if c.Scope == "" {
		c.Scope = "snsapi_userinfo"
	}
	if c.Lang == "" {
		c.Lang = "zh_CN"
	}
	bases := c.APIBaseURLs
	if len(bases) == 0 {
		bases = defaultWechatAPIBaseURLs
	}
	c.APIBaseURLs = make([]string, 0, len(bases))
	for _, b := range bases {
		c.APIBaseURLs = append(c.APIBaseURLs, strings.TrimRight(b, "/"))
	}
	return c
}
