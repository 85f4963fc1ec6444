package auths

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// safeRedirect accepts a path on this site, or an absolute URL on this
// site's host or an allowed host; anything else would be an open redirect.
func safeRedirect(raw string, base *url.URL, reqHost string, allowed []string) (string, error) {
	if raw == "" {
		return "/", nil
	}
	if !utf8.ValidString(raw) {
		return "", errors.New("is not valid UTF-8")
	}
	for _, r := range raw {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return "", errors.New("contains characters not allowed in a URL")
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", errors.New("is not a URL")
	}
	target, err := sameSite(raw, u, base, reqHost, allowed)
	if err != nil {
		return "", err
	}
	// The limit applies to what is stored, which for an absolute URL is
	// its re-encoded form (up to three times longer than the input).
	if len(target) > maxRedirectLen {
		return "", errors.New("is too long")
	}
	return target, nil
}

// maxRedirectLen is the longest return URL a login keeps (the column size).
const maxRedirectLen = 2048

func sameSite(raw string, u *url.URL, base *url.URL, reqHost string, allowed []string) (string, error) {
	if u.Scheme == "" && u.Host == "" && u.User == nil {
		if !strings.HasPrefix(raw, "/") || strings.HasPrefix(raw, "//") {
			return "", errors.New("must be a path starting with / or a URL on this site")
		}
		return raw, nil
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || u.Host == "" {
		return "", errors.New("must be a path starting with / or a URL on this site")
	}
	if base.Scheme == "https" && u.Scheme == "http" {
		return "", errors.New("must not leave https for http")
	}
	host := strings.ToLower(u.Host)
	if host == strings.ToLower(base.Host) || reqHost != "" && host == strings.ToLower(reqHost) {
		return u.String(), nil
	}
	for _, h := range allowed {
		if host == strings.ToLower(h) {
			return u.String(), nil
		}
	}
	return "", fmt.Errorf("must stay on this site; %s is not an allowed host", u.Hostname())
}
