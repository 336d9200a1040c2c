/**
 * The SSM parameters of one table's chain.
 *
 * - action (`RUN`): created here; operators change it (`dce pause/resume/reset`), so Pulumi ignores
 *   later changes of its value. The workflow never writes it: it records the RESET it carried out in
 *   the state (functions/chain/operatorAction.ts), which is why a re-create at version 1 is harmless.
 * - state: created here with the initial chain state; from then on only the workflow writes it.
 *   Pulumi ignores its value and keeps it on `pulumi destroy`, so neither a later `pulumi up` nor a
 *   destroy and re-create can reset a live chain. (Re-creating over a retained parameter needs an
 *   import: see docs/deploy.md.)
 *   `overwrite` (not deprecated in @pulumi/aws 7, only needed to take over a parameter created outside
 *   Pulumi) is deliberately left unset: on a re-create over the retained state parameter it would write
 *   the initial state over a live chain, where failing with ParameterAlreadyExists is the safe outcome.
 * - lock: not created here. The workflow creates it (create-only PutParameter) to hold a short lease
 *   while one tick runs and deletes it afterwards; a Pulumi-managed lock would always look taken.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { initialStateJson } from '../functions/chain/state';

/** The action parameter's value after deployment. */
export const INITIAL_ACTION = 'RUN';

/** Inputs of `parameters`. */
export interface ParametersArgs {
  actionParameterName: string;
  stateParameterName: string;
  tags: Record<string, string>;
}

export interface Parameters {
  action: aws.ssm.Parameter;
  state: aws.ssm.Parameter;
}

export function parameters(name: string, args: ParametersArgs, parent: pulumi.Resource): Parameters {
  const action = new aws.ssm.Parameter(
    `${name}-action`,
    {
      name: args.actionParameterName,
      type: 'String',
      value: INITIAL_ACTION,
      description: 'Operator action for the continuous export chain: RUN, PAUSE or RESET.',
      tags: args.tags,
    },
    { parent, ignoreChanges: ['value'] },
  );
  const state = new aws.ssm.Parameter(
    `${name}-state`,
    {
      name: args.stateParameterName,
      type: 'String',
      tier: 'Standard',
      value: initialStateJson(),
      description: 'Chain state of the continuous export workflow. Written by the workflow only.',
      tags: args.tags,
    },
    { parent, ignoreChanges: ['value'], retainOnDelete: true },
  );
  return { action, state };
}
