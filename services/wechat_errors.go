package services

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrSnapshotUser means WeChat returned a snapshot-page virtual user
	// (is_snapshotuser=1); it must not be bound or persisted. Tell the user
	// to tap "使用完整服务".
	ErrSnapshotUser = errors.New("wechat: snapshot user, full service not authorized")
	// ErrReauthorize means the stored grant is gone (no row, refresh token
	// invalid or expired); the user must go through the authorize page again.
	ErrReauthorize = errors.New("wechat: user must authorize again")
	// ErrMalformedResponse is wrapped in an UpstreamError when WeChat answers
	// 200 with a body that is not the expected JSON.
	ErrMalformedResponse = errors.New("malformed response")
	// ErrRedirect is wrapped in an UpstreamError when WeChat (or whatever
	// answered in its place) answers with a redirect: WeChat's API never
	// redirects, and the service never follows one.
	ErrRedirect = errors.New("redirect refused: WeChat's API never redirects")
)

// WechatError is a non-zero errcode returned by WeChat.
type WechatError struct {
	Endpoint string // e.g. "sns/oauth2/access_token"
	Code     int
	Msg      string // errmsg without the ", rid: ..." suffix
	RID      string
}

func (e *WechatError) Error() string {
	s := fmt.Sprintf("wechat %s: errcode %d: %s", e.Endpoint, e.Code, e.Msg)
	if e.RID != "" {
		s += " (rid: " + e.RID + ")"
	}
	return s
}

// ErrCode returns the WeChat errcode.
func (e *WechatError) ErrCode() int { return e.Code }

// newWechatError splits WeChat's "msg, rid: xxx" errmsg.
func newWechatError(endpoint string, code int, errmsg string) *WechatError {
	msg, rid, ok := strings.Cut(errmsg, ", rid: ")
	if !ok {
		msg, rid = errmsg, ""
	}
	return &WechatError{Endpoint: endpoint, Code: code, Msg: strings.TrimSpace(msg), RID: strings.TrimSpace(rid)}
}

func wechatCode(err error) (int, bool) {
	var we *WechatError
	if errors.As(err, &we) {
		return we.Code, true
	}
	return 0, false
}

func hasCode(err error, codes ...int) bool {
	c, ok := wechatCode(err)
	if !ok {
		return false
	}
	for _, want := range codes {
		if c == want {
			return true
		}
	}
	return false
}

// IsCodeUsed reports errcode 40163: the code was already exchanged, usually
// a duplicate callback.
func IsCodeUsed(err error) bool { return hasCode(err, 40163) }

// IsCodeInvalid reports errcode 40029 (invalid) or 42003 (expired code).
func IsCodeInvalid(err error) bool { return hasCode(err, 40029, 42003) }

// IsRefreshTokenExpired reports 42002 (expired) and 40030 (invalid refresh
// token): either way only a new authorization helps.
func IsRefreshTokenExpired(err error) bool { return hasCode(err, 42002, 40030) }

// IsSystemBusy reports errcode -1.
func IsSystemBusy(err error) bool { return hasCode(err, -1) }

// UpstreamError is a failure to get a usable answer from WeChat: network
// error, timeout, HTTP error status or a malformed body. The HTTP layer maps
// Timeout() to 504 and the rest to 502.
type UpstreamError struct {
	Endpoint string
	Status   int // HTTP status; 0 when no response arrived
	Err      error
	TimedOut bool
}

func (e *UpstreamError) Error() string {
	switch {
	case e.Err != nil && e.Status != 0:
		return fmt.Sprintf("wechat %s: upstream HTTP %d: %v", e.Endpoint, e.Status, e.Err)
	case e.Err != nil:
		return fmt.Sprintf("wechat %s: upstream: %v", e.Endpoint, e.Err)
	default:
		return fmt.Sprintf("wechat %s: upstream HTTP %d", e.Endpoint, e.Status)
	}
}

func (e *UpstreamError) Unwrap() error { return e.Err }

// Timeout reports whether the request timed out.
func (e *UpstreamError) Timeout() bool { return e.TimedOut }
