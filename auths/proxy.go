package auths

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"golang.org/x/time/rate"
)

// proxyTrust reads a request's client address and scheme from the
// connection, or, only when the peer is one of the trusted proxies, from
// X-Forwarded-For / X-Real-IP and X-Forwarded-Proto: anyone else could
// send those headers to pose as another client or as https.
func proxyTrust(trusted []*net.IPNet) (echo.IPExtractor, echo.SchemeExtractor) {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect(), echo.ExtractSchemeDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	xff, realIP := echo.ExtractIPFromXFFHeader(opts...), echo.ExtractIPFromRealIPHeader(opts...)
	ip := func(r *http.Request) string {
		if r.Header.Get(echo.HeaderXForwardedFor) == "" {
			return realIP(r)
		}
		return xff(r)
	}
	return ip, echo.ExtractSchemeFromHeaders(opts...)
}

// WithTrustedProxies names the proxies (CIDRs) whose forwarding headers
// are believed; without it, none are.
func WithTrustedProxies(nets []*net.IPNet) ServerOption {
	return func(s *Server) { s.ip, s.scheme = proxyTrust(nets) }
}

// WithRateLimit limits each client (its address, as WithTrustedProxies
// reads it) to perSecond requests, with bursts of burst, on the routes
// that start or finish a login: each writes to the database. perSecond 0
// turns the limit off.
func WithRateLimit(perSecond float64, burst int) ServerOption {
	return func(s *Server) { s.ratePerSecond, s.rateBurst = perSecond, burst }
}

// limiter is the rate limit middleware of the login routes, echo's own
// with its in-memory store (per replica).
func (s *Server) limiter() echo.MiddlewareFunc {
	if s.ratePerSecond <= 0 {
		return func(h echo.HandlerFunc) echo.HandlerFunc { return h }
	}
	retry := strconv.Itoa(int(math.Ceil(1 / s.ratePerSecond)))
	return middleware.RateLimiterWithConfig(middleware.RateLimiterConfig{
		Store: middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
			Rate: rate.Limit(s.ratePerSecond), Burst: s.rateBurst, ExpiresIn: 3 * time.Minute,
		}),
		DenyHandler: func(c echo.Context, _ string, _ error) error {
			c.Response().Header().Set("Retry-After", retry)
			return fail(http.StatusTooManyRequests, "rate_limited", "请求太频繁，请稍后再试。")
		},
		ErrorHandler: func(c echo.Context, err error) error {
			return fail(http.StatusForbidden, "client_unknown", "无法识别请求来源。")
		},
	})
}
