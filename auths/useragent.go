package auths

import "strings"

// BrowserKind classifies a User-Agent. The markers are checked in this
// order because later ones also appear in earlier clients' UAs: WeCom says
// MicroMessenger, WeChat for Mac also says WindowsWechat.
func BrowserKind(userAgent string) string {
	ua := strings.ToLower(userAgent)
	switch {
	case strings.Contains(ua, "wxwork"):
		return "wecom"
	case strings.Contains(ua, "miniprogram"): // also matches MiniProgramEnv
		return "miniprogram"
	case strings.Contains(ua, "macwechat"):
		return "macwechat"
	case strings.Contains(ua, "windowswechat"):
		return "windowswechat"
	case strings.Contains(ua, "micromessenger"):
		return "wechat"
	}
	return "other"
}

// IsWechatBrowser reports whether Official Account login can run in this
// browser: personal WeChat on any platform, including mini-program
// web-views, but not WeCom.
func IsWechatBrowser(userAgent string) bool {
	switch BrowserKind(userAgent) {
	case "wechat", "macwechat", "windowswechat", "miniprogram":
		return true
	}
	return false
}
