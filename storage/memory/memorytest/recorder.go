package memorytest

import (
	"context"
	"slices"
	"sync"

	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/scadevice"
)

// Recorder is a notifier that keeps what it is asked to send, for tests
// and examples. Safe for concurrent use; the zero value is ready.
type Recorder struct {
	mu        sync.Mutex
	operators []accessctl.OperatorNotice
	endUsers  []enduser.Notice
	pins      []scadevice.PINResetNotice
	fail      error
}

// SetFailure makes every later send fail with err and keep nothing; nil
// restores delivery.
func (r *Recorder) SetFailure(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = err
}

// NotifyOperator implements accessctl.Notifier.
func (r *Recorder) NotifyOperator(_ context.Context, n accessctl.OperatorNotice) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.operators = append(r.operators, n)
	return nil
}

// OperatorNotices returns the operator notices sent so far, oldest first.
func (r *Recorder) OperatorNotices() []accessctl.OperatorNotice {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.operators)
}

// LastOperatorNotice returns the newest notice to the email of the given
// kind, and whether there is one.
func (r *Recorder) LastOperatorNotice(email string, kind accessctl.NoticeKind) (accessctl.OperatorNotice, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.operators) - 1; i >= 0; i-- {
		if n := r.operators[i]; n.Email == email && n.Kind == kind {
			return n, true
		}
	}
	return accessctl.OperatorNotice{}, false
}

// NotifyEndUser implements enduser.Notifier.
func (r *Recorder) NotifyEndUser(_ context.Context, n enduser.Notice) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.endUsers = append(r.endUsers, n)
	return nil
}

// EndUserNotices returns the end-user notices sent so far, oldest first.
func (r *Recorder) EndUserNotices() []enduser.Notice {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.endUsers)
}

// NotifyPINReset implements scadevice.Notifier.
func (r *Recorder) NotifyPINReset(_ context.Context, n scadevice.PINResetNotice) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.pins = append(r.pins, n)
	return nil
}

// PINResetNotices returns the PIN reset requests sent so far, oldest first.
func (r *Recorder) PINResetNotices() []scadevice.PINResetNotice {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.pins)
}
