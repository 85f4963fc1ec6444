package services

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// maxBodyBytes bounds what we read from WeChat; real answers are < 2 KiB.
const maxBodyBytes = 1 << 20

// sensitiveParams never leave this package in errors or logs.
var sensitiveParams = []string{"secret", "code", "access_token", "refresh_token"}

// call performs a GET to endpoint with failover across base URLs and, when
// retryBusy is set, retries errcode -1 with exponential backoff. The code
// exchange passes retryBusy=false: a retried code may come back as 40163.
func (s *WechatPublicAuthSvc) call(ctx context.Context, endpoint string, params url.Values, retryBusy bool) (gjson.Result, error) {
	attempts := 1
	if retryBusy {
		attempts = s.attempts
	}
	var lastErr error
	for attempt := range attempts {
		if attempt > 0 {
			wait := s.backoff << (attempt - 1)
			s.log.WarnContext(ctx, "wechat system busy, retrying", "endpoint", endpoint, "attempt", attempt+1, "wait", wait)
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return gjson.Result{}, &UpstreamError{Endpoint: endpoint, Err: ctx.Err(), TimedOut: errors.Is(ctx.Err(), context.DeadlineExceeded)}
			case <-t.C:
			}
		}
		res, err := s.callBases(ctx, endpoint, params)
		if err == nil {
			return res, nil
		}
		lastErr = err
		if !IsSystemBusy(err) {
			return gjson.Result{}, err
		}
	}
	return gjson.Result{}, lastErr
}

// errNoAPIBase is the failure of a service configured with no API base URL.
var errNoAPIBase = errors.New("no API base URL configured")

// callBases tries each base URL in order, moving on only when the previous
// one was unreachable or answered 5xx; an errcode is WeChat's final word.
func (s *WechatPublicAuthSvc) callBases(ctx context.Context, endpoint string, params url.Values) (gjson.Result, error) {
	lastErr := error(&UpstreamError{Endpoint: endpoint, Err: errNoAPIBase})
	for i, base := range s.cfg.APIBaseURLs {
		start := time.Now()
		res, err := s.callOnce(ctx, base, endpoint, params)
		if s.observe != nil {
			s.observe(endpoint, time.Since(start), err)
		}
		if err == nil {
			return res, nil
		}
		lastErr = err
		var ue *UpstreamError
		if !errors.As(err, &ue) || ctx.Err() != nil || (ue.Status != 0 && ue.Status < 500) {
			return gjson.Result{}, err
		}
		if i+1 < len(s.cfg.APIBaseURLs) {
			s.log.WarnContext(ctx, "wechat api unreachable, failing over", "endpoint", endpoint, "base", base, "next", s.cfg.APIBaseURLs[i+1], "err", err)
		}
	}
	return gjson.Result{}, lastErr
}

func (s *WechatPublicAuthSvc) callOnce(ctx context.Context, base, endpoint string, params url.Values) (gjson.Result, error) {
	actx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	fail := func(status int, err error) (gjson.Result, error) {
		err = s.scrub(err)
		timedOut := errors.Is(err, context.DeadlineExceeded)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			timedOut = true
		}
		return gjson.Result{}, &UpstreamError{Endpoint: endpoint, Status: status, Err: err, TimedOut: timedOut}
	}

	req, err := http.NewRequestWithContext(actx, http.MethodGet, base+"/"+endpoint+"?"+params.Encode(), nil)
	if err != nil {
		return fail(0, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return fail(0, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		// Never followed (see WithHTTPClient), nor its Location logged:
		// it is whatever the other end chose.
		return fail(resp.StatusCode, ErrRedirect)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes+1))
	if err != nil {
		return fail(0, fmt.Errorf("read body: %w", err))
	}
	if resp.StatusCode != http.StatusOK {
		return fail(resp.StatusCode, nil)
	}
	if len(body) > maxBodyBytes {
		return fail(resp.StatusCode, fmt.Errorf("%w: body larger than %d bytes", ErrMalformedResponse, maxBodyBytes))
	}
	if !gjson.ValidBytes(body) {
		return fail(resp.StatusCode, fmt.Errorf("%w: body is not JSON", ErrMalformedResponse))
	}
	res := gjson.ParseBytes(body)
	if !res.IsObject() {
		return fail(resp.StatusCode, fmt.Errorf("%w: body is not a JSON object", ErrMalformedResponse))
	}
	if code := res.Get("errcode"); code.Exists() && code.Int() != 0 {
		msg := res.Get("errmsg").String()
		if s.cfg.AppSecret != "" {
			msg = strings.ReplaceAll(msg, s.cfg.AppSecret, "[REDACTED]") // never trust upstream not to echo it
		}
		return gjson.Result{}, newWechatError(endpoint, int(code.Int()), msg)
	}
	return res, nil
}

// scrub removes the app secret and other credentials from err, since
// *url.Error embeds the full request URL.
func (s *WechatPublicAuthSvc) scrub(err error) error {
	if err == nil {
		return nil
	}
	if ue, ok := err.(*url.Error); ok {
		cp := *ue
		cp.URL = redactURL(ue.URL)
		err = &cp
	}
	if s.cfg.AppSecret != "" && strings.Contains(err.Error(), s.cfg.AppSecret) {
		// Last resort: the text is what leaks, so replace it and keep
		// timeout/cancel semantics through the sentinel below.
		msg := strings.ReplaceAll(err.Error(), s.cfg.AppSecret, "[REDACTED]")
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			err = fmt.Errorf("%s: %w", msg, context.DeadlineExceeded)
		case errors.Is(err, context.Canceled):
			err = fmt.Errorf("%s: %w", msg, context.Canceled)
		default:
			err = errors.New(msg)
		}
	}
	return err
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "[unparsable URL]"
	}
	q := u.Query()
	for _, k := range sensitiveParams {
		if q.Has(k) {
			q.Set(k, "REDACTED")
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}
