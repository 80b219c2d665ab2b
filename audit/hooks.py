"""The audit scope of management commands and Celery tasks, installed once by AuditConfig.

Commands: BaseCommand.execute is wrapped, because it is the one method every command runs
through, whether started by manage.py, call_command or another command (an inner command
names itself). The actor is `system` with the OS user who ran it.

Tasks: task_prerun opens a scope (channel `task`, actor `system`, the task id as request_id,
so the events of one task can be found together) and task_postrun closes it, in the same
thread; eager `apply()` fires both too. A sync run inside a task opens its own scope on top.
"""

from __future__ import annotations

import functools
import getpass
from contextvars import Token
from typing import Any

from audit import actors, context

_task_tokens: dict[str, Token] = {}


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container user without a passwd entry or $USER
        return "unknown"


def command_actor(command: Any) -> actors.Actor:
    name = type(command).__module__.rsplit(".", 1)[-1]
    user = os_user()
    return actors.system(f"{user} (manage.py {name})", id=user)


def install_command_hook() -> None:
    from django.core.management.base import BaseCommand

    original = BaseCommand.execute
    if getattr(original, "audit_scope", False):
        return

    @functools.wraps(original)
    def execute(self: BaseCommand, *args: Any, **options: Any) -> Any:
        with context.audit_context(actor=command_actor(self), channel=context.COMMAND):
            return original(self, *args, **options)

    execute.audit_scope = True  # type: ignore[attr-defined]
    BaseCommand.execute = execute  # type: ignore[method-assign]


def task_started(task_id: str, task: Any, **_: Any) -> None:
    _task_tokens[task_id] = context.enter(
        actor=actors.system(f"task {task.name}"), channel=context.TASK, request_id=task_id
    )


def task_finished(task_id: str, **_: Any) -> None:
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        context.leave(token)


def install_task_hooks() -> None:
    from celery.signals import task_postrun, task_prerun

    task_prerun.connect(task_started, weak=False, dispatch_uid="audit_task_started")
    task_postrun.connect(task_finished, weak=False, dispatch_uid="audit_task_finished")
