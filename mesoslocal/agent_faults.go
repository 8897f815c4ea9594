package mesoslocal

import (
	"fmt"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// The faults of an agent: host death, silent partition and heal, process
// restart with executor recovery, host reboot.

// kill models host death: executors are SIGKILLed, the link breaks with
// notice, the listener stops. The agent's checkpointed state (its id,
// reservations and volumes, checkpointing frameworks' books) survives for a
// later restart or reboot.
func (a *agent) kill() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.run == agentDead {
		return fmt.Errorf("kill %s: %w", a.name, ErrAgentState)
	}
	a.dieLocked(true)
	return nil
}

// dieLocked stops everything; keep says whether the books of checkpointing
// frameworks are kept for recovery.
func (a *agent) dieLocked(keep bool) {
	a.run = agentDead
	a.epoch++
	if a.link != nil {
		a.link.sever()
	}
	a.stopServerLocked()
	for _, fw := range a.frameworks {
		for _, e := range fw.executors {
			e.killGroup()
		}
	}
	a.forgetProcessStateLocked(keep)
	a.notifyLocked()
}

// forgetProcessStateLocked models the end of the agent process: timers
// stop, and what is not checkpointed is forgotten — everything unless keep,
// else the books of frameworks that do not checkpoint. It returns the
// executors of forgotten frameworks.
func (a *agent) forgetProcessStateLocked(keep bool) []*executorRun {
	var forgotten []*executorRun
	for fid, fw := range a.frameworks {
		for _, e := range fw.executors {
			e.stopTimers()
		}
		if keep && fw.checkpoint() {
			continue
		}
		for _, e := range fw.executors {
			forgotten = append(forgotten, e)
		}
		delete(a.frameworks, fid)
		for _, s := range a.updates[fid] {
			s.stopTimer()
		}
		delete(a.updates, fid)
	}
	for _, ss := range a.updates {
		for _, s := range ss {
			s.stopTimer()
		}
	}
	return forgotten
}

// partition drops the link silently.
func (a *agent) partition() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.run == agentDead || a.link == nil || !a.link.setPartitioned(true) {
		return fmt.Errorf("partition %s: %w", a.name, ErrAgentState)
	}
	a.notifyLocked()
	return nil
}

// heal ends a partition; the agent reregisters at once.
func (a *agent) heal() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.run == agentDead || a.link == nil || a.link.getMode() != linkPartitioned {
		return fmt.Errorf("heal %s: %w", a.name, ErrAgentState)
	}
	a.link.setPartitioned(false)
	a.registered = false
	a.sendRegisterLocked()
	a.notifyLocked()
	return nil
}

// restart models an agent process restart: the link breaks with notice,
// the listener stops and comes back on the same address. Executors of
// checkpointing frameworks keep running and are adopted if they resubscribe
// within the reregistration timeout; the agent keeps its id.
func (a *agent) restart() error {
	a.mu.Lock()
	if a.id == "" {
		a.mu.Unlock()
		return fmt.Errorf("restart %s: not registered yet: %w", a.name, ErrAgentState)
	}
	wasDead := a.run == agentDead
	a.epoch++
	if a.link != nil {
		a.link.sever()
	}
	a.stopServerLocked()
	orphans := a.forgetProcessStateLocked(true)
	a.run = agentRecovering
	if err := a.listenLocked(); err != nil {
		a.run = agentDead
		a.mu.Unlock()
		return fmt.Errorf("restart: %w", err)
	}
	for _, fw := range a.frameworks {
		for _, e := range fw.executors {
			if e.state == execRunning {
				e.state = execRegistering
			}
			if wasDead && e.exited {
				// The host died: the executor is gone.
				e.termReason = mesos.REASON_EXECUTOR_TERMINATED
			}
		}
	}
	epoch := a.epoch
	a.notifyLocked()
	a.mu.Unlock()
	a.log.Info("agent restarted, waiting for executors", "timeout", a.c.cfg.Timers.ExecutorReregistrationTimeout)
	time.AfterFunc(a.c.cfg.Timers.ExecutorReregistrationTimeout, func() { a.finishRecovery(epoch, orphans) })
	return nil
}

// finishRecovery ends the reregistration window: executors that did not
// come back are destroyed, orphans of non-checkpointing frameworks are
// killed, and the agent reregisters with its id.
func (a *agent) finishRecovery(epoch int, orphans []*executorRun) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, e := range orphans {
		e.killGroup()
	}
	if a.epoch != epoch || a.run != agentRecovering {
		return
	}
	for _, fw := range a.frameworks {
		for _, e := range fw.executors {
			switch {
			case e.exited:
				a.executorTerminatedLocked(e)
			case e.state == execRegistering || e.state == execLaunching:
				e.termReason = mesos.REASON_EXECUTOR_REREGISTRATION_TIMEOUT
				e.termMessage = "Executor did not reregister within " + a.c.cfg.Timers.ExecutorReregistrationTimeout.String()
				if e.pid == 0 {
					// Its launch was cut short by the restart: no process.
					e.exited = true
					a.executorTerminatedLocked(e)
					continue
				}
				e.state = execTerminating
				e.killGroup()
			}
		}
	}
	a.run = agentRunning
	a.connectLocked()
	a.notifyLocked()
}

// reboot models a host reboot: every executor is killed, the agent comes
// back under a new agent id with its reservations and volumes.
func (a *agent) reboot() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.dieLocked(false)
	a.frameworks = map[string]*agentFramework{}
	a.updates = map[string]map[string]*updateStream{}
	a.id = ""
	a.run = agentRunning
	if err := a.listenLocked(); err != nil {
		a.run = agentDead
		return fmt.Errorf("reboot: %w", err)
	}
	a.connectLocked()
	a.notifyLocked()
	return nil
}
