package jit

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// A panicking handler gives a JSON 500 without its details, not a dropped
// connection; the details go to the log.
func TestRecoverPanics(t *testing.T) {
	var logs strings.Builder
	a := &App{opts: options{logger: slog.New(slog.NewTextHandler(&logs, nil))}}
	e := echo.New()
	e.HTTPErrorHandler = jsonErrors(a.opts.logger)
	e.Use(a.recoverPanics)
	e.GET("/boom", func(echo.Context) error { panic("boom: internal detail") })
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/boom", nil))
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), `"code":"internal"`) {
		t.Errorf("got %d %s", rec.Code, rec.Body)
	}
	if strings.Contains(rec.Body.String(), "internal detail") || strings.Contains(rec.Body.String(), "goroutine") {
		t.Errorf("response reveals the panic: %s", rec.Body)
	}
	if !strings.Contains(logs.String(), "internal detail") {
		t.Errorf("panic not logged: %s", logs.String())
	}
}
