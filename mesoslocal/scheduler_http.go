package mesoslocal

import (
	"fmt"
	"net/http"

	"github.com/google/uuid"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// maxBody bounds request bodies.
const maxBody = 64 << 20

// serveScheduler is /api/v1/scheduler and /master/api/v1/scheduler, with the
// checks in the order of Mesos's Master::Http::scheduler.
func (m *master) serveScheduler(w http.ResponseWriter, r *http.Request) {
	body, ok := readCall(w, r)
	if !ok {
		return
	}
	ct := r.Header.Get("Content-Type")
	call, derr := decodeSchedulerCall(ct, body)
	if derr != nil {
		plainError(w, derr.status, derr.msg)
		return
	}
	if msg := validateSchedulerCall(call); msg != "" {
		plainError(w, http.StatusBadRequest, "Failed to validate scheduler::Call: "+msg)
		return
	}
	if call.Type == scheduler.Call_SUBSCRIBE {
		mt := negotiate(r.Header)
		if mt == "" {
			plainError(w, http.StatusNotAcceptable, "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'")
			return
		}
		if r.Header.Get("Mesos-Stream-Id") != "" {
			plainError(w, http.StatusBadRequest, "Subscribe calls should not include the 'Mesos-Stream-Id' header")
			return
		}
		m.subscribeHTTP(w, r, call, mt)
		return
	}
	fid := call.FrameworkID.Value
	m.mu.Lock()
	fw := m.frameworks[fid]
	status, msg := 0, ""
	switch {
	case fw == nil:
		status, msg = http.StatusBadRequest, "Framework cannot be found"
	case fw.sub == nil:
		status, msg = http.StatusForbidden, "Framework is not subscribed"
	case r.Header.Get("Mesos-Stream-Id") == "":
		status, msg = http.StatusBadRequest, "All non-subscribe calls should include the 'Mesos-Stream-Id' header"
	case r.Header.Get("Mesos-Stream-Id") != fw.sub.id:
		status, msg = http.StatusBadRequest, fmt.Sprintf("The stream ID '%s' included in this request didn't match the stream ID currently associated with framework ID %s",
			r.Header.Get("Mesos-Stream-Id"), fid)
	case call.Type == scheduler.Call_UNKNOWN:
		status = http.StatusNotImplemented
	case call.Type == scheduler.Call_UPDATE_FRAMEWORK:
		if err := validateUpdateFramework(&fw.info, &call.UpdateFramework.FrameworkInfo, call.UpdateFramework.SuppressedRoles); err != nil {
			status, msg = http.StatusBadRequest, err.Error()
		}
	}
	if status == 0 {
		m.tap.schedulerCall(call)
		m.callLocked(fw, call)
		m.notifyLocked()
	}
	m.mu.Unlock()
	switch {
	case status != 0:
		plainError(w, status, msg)
	case call.Type == scheduler.Call_UPDATE_FRAMEWORK:
		w.WriteHeader(http.StatusOK)
	default:
		w.WriteHeader(http.StatusAccepted)
	}
}

// decodeSchedulerCall decodes a scheduler Call and checks what protobuf's
// IsInitialized checks in Mesos (required fields).
func decodeSchedulerCall(ct string, body []byte) (*scheduler.Call, *decodeError) {
	var call scheduler.Call
	if derr := decodeCall(ct, body, &call); derr != nil {
		return nil, derr
	}
	if !hasTopField(ct, body, "type", 2) {
		call.Type = -1 // marks "absent" for validation
	}
	return &call, nil
}

// validateSchedulerCall is Mesos's validation::scheduler::call::validate;
// it returns "" or the reason.
func validateSchedulerCall(c *scheduler.Call) string {
	if c.Type == -1 {
		return "Expecting 'type' to be present"
	}
	if c.Type == scheduler.Call_SUBSCRIBE {
		if c.Subscribe == nil {
			return "Expecting 'subscribe' to be present"
		}
		if c.Subscribe.FrameworkInfo == nil {
			return "Not initialized: subscribe.framework_info"
		}
		if c.Subscribe.FrameworkInfo.GetID().GetValue() != c.GetFrameworkID().GetValue() {
			return "'framework_id' differs from 'subscribe.framework_info.id'"
		}
		return ""
	}
	if c.FrameworkID == nil {
		return "Expecting 'framework_id' to be present"
	}
	present := func(ok bool, name string) string {
		if !ok {
			return "Expecting '" + name + "' to be present"
		}
		return ""
	}
	switch c.Type {
	case scheduler.Call_ACCEPT:
		return present(c.Accept != nil, "accept")
	case scheduler.Call_DECLINE:
		return present(c.Decline != nil, "decline")
	case scheduler.Call_ACCEPT_INVERSE_OFFERS:
		return present(c.AcceptInverseOffers != nil, "accept_inverse_offers")
	case scheduler.Call_DECLINE_INVERSE_OFFERS:
		return present(c.DeclineInverseOffers != nil, "decline_inverse_offers")
	case scheduler.Call_KILL:
		return present(c.Kill != nil, "kill")
	case scheduler.Call_SHUTDOWN:
		return present(c.Shutdown != nil, "shutdown")
	case scheduler.Call_ACKNOWLEDGE:
		if c.Acknowledge == nil {
			return "Expecting 'acknowledge' to be present"
		}
		if _, err := uuid.FromBytes(c.Acknowledge.UUID); err != nil || len(c.Acknowledge.UUID) != 16 {
			return "Not a valid UUID"
		}
	case scheduler.Call_ACKNOWLEDGE_OPERATION_STATUS:
		if c.AcknowledgeOperationStatus == nil {
			return "Expecting 'acknowledge_operation_status' to be present"
		}
		if len(c.AcknowledgeOperationStatus.UUID) != 16 {
			return "Not a valid UUID"
		}
		if c.AcknowledgeOperationStatus.AgentID == nil {
			return "Expecting 'agent_id' to be present"
		}
	case scheduler.Call_RECONCILE:
		return present(c.Reconcile != nil, "reconcile")
	case scheduler.Call_RECONCILE_OPERATIONS:
		return present(c.ReconcileOperations != nil, "reconcile_operations")
	case scheduler.Call_MESSAGE:
		return present(c.Message != nil, "message")
	case scheduler.Call_REQUEST:
		return present(c.Request != nil, "request")
	case scheduler.Call_UPDATE_FRAMEWORK:
		if c.UpdateFramework == nil {
			return "Expecting 'update_framework' to be present"
		}
		if c.FrameworkID.Value != c.UpdateFramework.FrameworkInfo.GetID().GetValue() {
			return "'framework_id' differs from 'update_framework.framework_info.id'"
		}
	}
	return ""
}

// subscribeHTTP runs a SUBSCRIBE: 200 with the event stream, or 200 with
// one ERROR event and a closed stream when the FrameworkInfo is refused.
func (m *master) subscribeHTTP(w http.ResponseWriter, r *http.Request, call *scheduler.Call, mediaType string) {
	s := newEventStream(newUUID(), mediaType)
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		plainError(w, http.StatusServiceUnavailable, "Master is shutting down")
		return
	}
	m.tap.schedulerCall(call)
	fid, errMsg := m.subscribeLocked(call.Subscribe, s)
	if errMsg != "" {
		ev := &scheduler.Event{Type: scheduler.Event_ERROR, Error: &scheduler.Event_Error{Message: errMsg}}
		s.send(ev)
		m.tap.schedulerEvent(call.Subscribe.FrameworkInfo.GetID().GetValue(), ev, true)
		s.close()
	}
	m.notifyLocked()
	m.mu.Unlock()
	gone := s.serve(w, r, map[string]string{"Mesos-Stream-Id": s.id, "Cache-Control": "no-cache"},
		func() wireMessage { return &scheduler.Event{Type: scheduler.Event_HEARTBEAT} }, m.cfg.Timers.Heartbeat)
	if gone && fid != "" {
		m.mu.Lock()
		m.streamClosedLocked(fid, s)
		m.notifyLocked()
		m.mu.Unlock()
	}
}
