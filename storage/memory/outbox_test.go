package memory_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/enduser"
	"github.com/backoffice-go/backoffice/scadevice"
	"github.com/backoffice-go/backoffice/storage/memory"
	"github.com/backoffice-go/backoffice/storage/memory/memorytest"
)

type endUserSink struct {
	mu    sync.Mutex
	byKey map[string]enduser.Notice
}

func (s *endUserSink) NotifyEndUser(_ context.Context, n enduser.Notice) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byKey[n.IdempotencyKey] = n
	return nil
}

type pinSink struct {
	mu    sync.Mutex
	byKey map[string]scadevice.PINResetNotice
}

func (s *pinSink) NotifyPINReset(_ context.Context, n scadevice.PINResetNotice) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byKey[n.IdempotencyKey] = n
	return nil
}

// N2: in outbox mode the end-user and device notices go with their change
// to the outbox, and a dispatcher delivers them, links included, once.
func TestEndUserAndDeviceOutbox(t *testing.T) {
	st := memory.New()
	clock := memorytest.NewClock(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))
	users, err := enduser.NewService(enduser.Config{Store: st, Tenants: st, Outbox: true, Now: clock.Now,
		Balances: enduser.BalancesFunc(func(context.Context, *enduser.EndUser) ([]enduser.Balance, error) { return nil, nil })})
	require.NoError(t, err)
	devices, err := scadevice.NewService(scadevice.Config{Store: st, Users: st, Outbox: true, Now: clock.Now})
	require.NoError(t, err)
	ops, err := accessctl.NewService(accessctl.Config{Store: st, Now: clock.Now, Hasher: memorytest.Hasher()})
	require.NoError(t, err)
	_, err = ops.Bootstrap(context.Background(), accessctl.BootstrapInput{Tenant: "acme", Name: "Acme", Preset: accessctl.PresetDashboard,
		Admin: accessctl.NewOperator{Username: "root", Email: "root@acme.test", FirstName: "R", LastName: "R", Password: "Correct-Horse-42", PasswordConfirmation: "Correct-Horse-42"}})
	require.NoError(t, err)
	sys := accessctl.NewContext(context.Background(), accessctl.SystemActor("acme", "test"))

	o, err := users.StartOnboarding(sys, enduser.NewEndUser{Type: enduser.TypePhysicalPerson, FirstName: "Ada", LastName: "L", Email: "ada@example.com"})
	require.NoError(t, err)
	u, err := users.CompleteOnboarding(sys, backoffice.Secret(mustActivation(t, st)))
	require.NoError(t, err)
	_, err = users.SendForgotPassword(sys, u.ID)
	require.NoError(t, err)
	own := accessctl.NewContext(context.Background(), accessctl.EndUserActor("acme", string(u.ID)))
	d, err := devices.Enrol(own, u.ID, scadevice.Enrolment{Kind: scadevice.KindMobile})
	require.NoError(t, err)
	d, err = devices.SetPasscode(own, d.ID, d.Version)
	require.NoError(t, err)
	_, err = devices.ResetPIN(sys, d.ID, d.Version, true)
	require.NoError(t, err)

	people, pins := &endUserSink{byKey: map[string]enduser.Notice{}}, &pinSink{byKey: map[string]scadevice.PINResetNotice{}}
	dispatcher := &backoffice.Dispatcher{Store: st, Now: clock.Now, Handlers: map[string]backoffice.Handler{
		enduser.OutboxTopic: enduser.OutboxHandler(people), scadevice.OutboxTopic: scadevice.OutboxHandler(pins)}}
	n, err := dispatcher.DispatchOnce(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	require.Len(t, people.byKey, 2)
	require.Len(t, pins.byKey, 1)
	for _, p := range pins.byKey {
		assert.Equal(t, d.ID, p.Device)
	}
	kinds := map[enduser.NoticeKind]bool{}
	for _, p := range people.byKey {
		kinds[p.Kind] = true
		if p.Kind == enduser.NoticeActivation {
			assert.Equal(t, o.ID, p.Onboard)
		}
	}
	assert.True(t, kinds[enduser.NoticeActivation] && kinds[enduser.NoticeForgotPassword])
}

// mustActivation reads the activation link from the outbox, as the
// dispatcher would deliver it.
func mustActivation(t *testing.T, st *memory.Store) string {
	t.Helper()
	ms, err := st.OutboxMessages(context.Background(), backoffice.MessagePending, 10)
	require.NoError(t, err)
	require.Len(t, ms, 1)
	var token string
	require.NoError(t, enduser.OutboxHandler(notifierFunc(func(_ context.Context, n enduser.Notice) error {
		token = string(n.Token)
		return nil
	}))(context.Background(), ms[0]))
	require.NotEmpty(t, token)
	return token
}

type notifierFunc func(context.Context, enduser.Notice) error

func (f notifierFunc) NotifyEndUser(ctx context.Context, n enduser.Notice) error { return f(ctx, n) }
