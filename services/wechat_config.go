package services

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
)

// WechatConfig configures one WeChat login element instance. The service
// uses it as given: it is the decoded config of a login Type, whose config
// struct (with its tags) is the one description of the keys, their checks
// and their defaults, such as WeChat's two API domains. Its String,
// GoString and LogValue redact AppSecret, so printing or logging it is safe.
type WechatConfig struct {
	LoginType   string // full name of the login element
	AppID       string
	AppSecret   string
	Scope       string   // snsapi_base, snsapi_userinfo or (website app) snsapi_login, as configured
	Lang        string   // userinfo language: zh_CN, zh_TW, en; empty: WeChat's own (zh_CN)
	APIBaseURLs []string // tried in order; at least one, or every call fails
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

// trimBases returns the base URLs without trailing slashes, in a slice of
// the service's own.
func trimBases(bases []string) []string {
	out := make([]string, 0, len(bases))
	for _, b := range bases {
		out = append(out, strings.TrimRight(b, "/"))
	}
	return out
}
