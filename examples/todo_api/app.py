"""A todo list: a Collection with an Index, served by a FastAPI app mounted at /api.

    skaal run examples/todo_api/app.py
    curl -X POST localhost:8000/api/todos -H 'content-type: application/json' \
         -d '{"id": "1", "owner": "ada", "title": "write docs"}'
    curl localhost:8000/api/todos?owner=ada
"""

from __future__ import annotations

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

from skaal import App, Collection, Index

app = App("todo-api")


class Todo(BaseModel):
    id: str
    owner: str
    title: str
    done: bool = False


@app.storage(durability="durable")
class Todos(Collection[Todo]):
    key = "id"
    by_owner = Index("owner")


api = FastAPI(title="todos")


@api.post("/todos")
async def add_todo(todo: Todo) -> Todo:
    await Todos.put(todo)
    return todo


@api.get("/todos")
async def list_todos(owner: str, limit: int = 50) -> list[Todo]:
    page = await Todos.find(owner=owner, limit=limit)
    return list(page.items)


@api.get("/todos/{todo_id}")
async def get_todo(todo_id: str) -> Todo:
    todo = await Todos.get(todo_id)
    if todo is None:
        raise HTTPException(404, f"no todo {todo_id!r}")
    return todo


@api.delete("/todos/{todo_id}", status_code=204)
async def delete_todo(todo_id: str) -> None:
    if not await Todos.delete(todo_id):
        raise HTTPException(404, f"no todo {todo_id!r}")


@api.post("/todos/{todo_id}/done")
async def finish(todo_id: str) -> Todo:
    todo = await Todos.get(todo_id)
    if todo is None:
        raise HTTPException(404, f"no todo {todo_id!r}")
    done = todo.model_copy(update={"done": True})
    await Todos.put(done)
    return done


app.mount("/api", api)


@app.function()
async def count_open(owner: str) -> int:
    """How many of ``owner``'s todos are not done (first 1000)."""
    page = await Todos.find(owner=owner, limit=1000)
    return sum(1 for todo in page.items if not todo.done)
