package jsonapi

import (
	"net/http"

	"github.com/backoffice-go/backoffice/scadevice"
)

// registerDevices wires the SCA device commands of the profile board.
func (a *API) registerDevices() {
	a.handle("GET /v1/endusers/{id}/devices", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		deleted, err := boolParam(r, "deleted")
		if err != nil {
			return 0, nil, err
		}
		var ds []*scadevice.Device
		if deleted {
			ds, err = a.devices.DeletedDevices(r.Context(), userID(r))
		} else {
			ds, err = a.devices.Devices(r.Context(), userID(r))
		}
		return ok(devicesJSON(ds), err)
	}))
	a.handle("GET /v1/devices/{id}", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		return dev(a.devices.Device(r.Context(), devID(r)))
	}))
	a.handle("GET /v1/devices/{id}/commands", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		cmds, err := a.devices.AvailableCommands(r.Context(), devID(r))
		if cmds == nil {
			cmds = []scadevice.Command{}
		}
		return ok(commandsView{Commands: cmds, LockReasons: scadevice.LockReasons()}, err)
	}))
	a.handle("POST /v1/devices/{id}/lock", a.authed(withBody(func(r *http.Request, b lockBody) (int, any, error) {
		return dev(a.devices.Lock(r.Context(), devID(r), b.Version, b.Reason, b.Message))
	})))
	a.handle("POST /v1/devices/{id}/unlock", a.authed(withBody(func(r *http.Request, b identityBody) (int, any, error) {
		return dev(a.devices.Unlock(r.Context(), devID(r), b.Version, b.IdentityVerified))
	})))
	a.handle("POST /v1/devices/{id}/reset-pin", a.authed(withBody(func(r *http.Request, b identityBody) (int, any, error) {
		return dev(a.devices.ResetPIN(r.Context(), devID(r), b.Version, b.IdentityVerified))
	})))
	a.handle("DELETE /v1/devices/{id}", a.authed(func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		v, err := versionParam(r)
		if err != nil {
			return 0, nil, err
		}
		return dev(a.devices.Delete(r.Context(), devID(r), v))
	}))
}
