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

// SummarizeUserAgent names the browser and system of a User-Agent in a few
// words a person recognises, e.g. "微信 · iPhone" or "Chrome · Windows",
// for the list of a user's sessions.
func SummarizeUserAgent(userAgent string) string {
	ua := strings.ToLower(userAgent)
	app := ""
	switch BrowserKind(userAgent) {
	case "wecom":
		app = "企业微信"
	case "miniprogram":
		app = "微信小程序"
	case "macwechat", "windowswechat":
		app = "微信电脑版"
	case "wechat":
		app = "微信"
	default:
		switch {
		case strings.Contains(ua, "edg/"):
			app = "Edge"
		case strings.Contains(ua, "firefox/"):
			app = "Firefox"
		case strings.Contains(ua, "chrome/") || strings.Contains(ua, "crios/"):
			app = "Chrome"
		case strings.Contains(ua, "safari/"):
			app = "Safari"
		case ua == "":
			app = "未知浏览器"
		default:
			app = "浏览器"
		}
	}
	system := ""
	switch {
	case strings.Contains(ua, "iphone"):
		system = "iPhone"
	case strings.Contains(ua, "ipad"):
		system = "iPad"
	case strings.Contains(ua, "android"):
		system = "Android"
	case strings.Contains(ua, "windows"):
		system = "Windows"
	case strings.Contains(ua, "mac os x") || strings.Contains(ua, "macintosh"):
		system = "macOS"
	case strings.Contains(ua, "linux"):
		system = "Linux"
	}
	if system == "" {
		return app
	}
	return app + " · " + system
}
