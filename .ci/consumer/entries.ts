// Every entry point of the package resolves, for types (tsc) and at runtime (plain node).
import { Model } from "effect-reactor"
import { runIfMain } from "effect-reactor/cli"
import { ReactorClient } from "effect-reactor/client"
import { Server } from "effect-reactor/server"
import { CommandArbitrary, ModelTest } from "effect-reactor/testing"

export const entries = { Model, runIfMain, ReactorClient, Server, CommandArbitrary, ModelTest }
console.log(Object.entries(entries).map(([name, value]) => `${name}:${typeof value}`).join(" "))
