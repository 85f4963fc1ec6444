package elements

import (
	"errors"
	"fmt"
)

// Severity orders problems: only errors make an element unusable.
type Severity int

const (
	// SeverityError makes the element unusable (it is skipped, or its last
	// good version stays live).
	SeverityError Severity = iota
	// SeverityWarning is something that is probably a mistake, such as an
	// unknown config key; the element still loads.
	SeverityWarning
	// SeverityNotice is information, such as an element kept inert because
	// this runtime has no implementation for its type.
	SeverityNotice
)

func (s Severity) String() string {
	switch s {
	case SeverityError:
		return "error"
	case SeverityWarning:
		return "warning"
	default:
		return "notice"
	}
}

// ErrInvalid is matched (errors.Is) by every *Problem of SeverityError.
var ErrInvalid = errors.New("invalid element")

// Problem is one finding about one file, in the shape of a Kubernetes field
// error: "auths/loginTypes/X/X.json: scope: must be one of ...".
type Problem struct {
	Severity Severity
	Element  string // full name, when known
	File     string // as shown to the user: layer-relative path or "builtin:..."
	Field    string // JSON path of the offending value, empty for whole-file problems
	Msg      string
}

func (p *Problem) Error() string {
	if p.Field == "" {
		return fmt.Sprintf("%s: %s", p.File, p.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", p.File, p.Field, p.Msg)
}

// Is lets errors.Is(err, ErrInvalid) match error-level problems.
func (p *Problem) Is(target error) bool {
	return target == ErrInvalid && p.Severity == SeverityError
}

// Errorf builds an error-level problem.
func Errorf(file, field, format string, args ...any) *Problem {
	return &Problem{Severity: SeverityError, File: file, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Warnf builds a warning-level problem.
func Warnf(file, field, format string, args ...any) *Problem {
	return &Problem{Severity: SeverityWarning, File: file, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Problems is a list of findings; it is an error when any of them is.
type Problems []*Problem

// HasErrors reports whether any problem is error-level.
func (ps Problems) HasErrors() bool {
	for _, p := range ps {
		if p.Severity == SeverityError {
			return true
		}
	}
	return false
}

// Err joins the error-level problems, or returns nil when there are none.
func (ps Problems) Err() error {
	var errs []error
	for _, p := range ps {
		if p.Severity == SeverityError {
			errs = append(errs, p)
		}
	}
	return errors.Join(errs...)
}
