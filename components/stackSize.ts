/**
 * How many tables one stack should hold. Every table brings its own 25 resources (function,
 * roles, state machine, schedule, topics, alarms, dashboard, parameters, bucket); `npm run
 * bench:tables` measures what that costs under Pulumi mocks. Past the threshold below, previews and
 * updates get slow, one failed resource blocks changes to every other table, and the state file grows
 * with every table, so the program suggests splitting the stack (docs/deploy.md, "Many tables").
 */

/** Above this many tables, `pulumi preview` and `pulumi up` print a warning. */
export const LARGE_STACK_TABLES = 50;

/** The warning for a stack with `tables` tables, or undefined when it is a reasonable size. */
export function largeStackWarning(tables: number): string | undefined {
  if (tables <= LARGE_STACK_TABLES) return undefined;
  return (
    `this stack exports ${tables} tables (about ${tables * 25} resources); above ${LARGE_STACK_TABLES} tables per stack, ` +
    'previews and updates slow down and one failing resource holds up every table. Consider splitting the tables ' +
    'over several stacks of this project (one per team or group of tables; see docs/deploy.md, "Many tables")'
  );
}
