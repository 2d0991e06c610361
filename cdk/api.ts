import { type CfnElement, Stack } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { HeartbeatFunction } from './heartbeat-function.js';
import { acknowledge, nagRef } from './nag.js';

/** Route keys, as API Gateway puts them in `event.routeKey` and in the access log. */
export const ROUTES = {
  heartbeats: 'ANY /v1/heartbeats',
  agent: 'ANY /v1/agents/{agentId}',
  deregister: 'DELETE /v1/agents/{agentId}',
  agents: 'ANY /v1/agents',
  maintenance: 'ANY /v1/maintenance',
  maintenanceWindow: 'ANY /v1/maintenance/{id}',
  default: '$default',
} as const;

export interface HeartbeatApiProps {
  ingest: HeartbeatFunction;
  read: HeartbeatFunction;
  operate: HeartbeatFunction;
  throttle: { rateLimit: number; burstLimit: number };
  logRetention: logs.RetentionDays;
}

/**
 * One JSON object per request. Values are strings (quoted) so a `-` for a missing value keeps the
 * line valid JSON; Logs Insights and metric filters match `status` as text (`"5*"`).
 */
export const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  ip: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  httpMethod: '$context.httpMethod',
  path: '$context.path',
  routeKey: '$context.routeKey',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationStatus: '$context.integrationStatus',
  integrationLatency: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  errorMessage: '$context.error.message',
} as const;

/**
 * The HTTP API: payload format 2.0 to the ingest, read and operate functions. ANY on each path, so a
 * wrong method reaches the handler and gets a problem+json 405 with `Allow`, and the `$default`
 * route sends unknown paths to the read function for a problem+json 404 instead of API
 * Gateway's bare `{"message":"Not Found"}`.
 *
 * Credentials apart: agents send a bearer token that the ingest function compares in constant
 * time against the token secret (a rotation needs no redeploy, a 401 is a problem+json like
 * every other error), and it is good for nothing else. The read and operator routes use the HTTP
 * API's IAM authorization: operators sign with SigV4 under a role holding `operatorPolicy`; any
 * other caller, an agent's token included, gets API Gateway's 403 before a function runs.
 */
export class HeartbeatApi extends Construct {
  readonly httpApi: apigw.HttpApi;
  readonly stage: apigw.HttpStage;
  readonly accessLogs: logs.LogGroup;
  /** execute-api:Invoke on the read and operator routes: attach it to on-call roles. */
  readonly operatorPolicy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: HeartbeatApiProps) {
    super(scope, id);

    const ingest = new HttpLambdaIntegration('Ingest', props.ingest.function, {
      payloadFormatVersion: apigw.PayloadFormatVersion.VERSION_2_0,
    });
    // One integration for every read route: one Lambda permission, one integration resource.
    const read = new HttpLambdaIntegration('Read', props.read.function, {
      payloadFormatVersion: apigw.PayloadFormatVersion.VERSION_2_0,
    });

    this.httpApi = new apigw.HttpApi(this, 'HttpApi', {
      apiName: Stack.of(this).stackName,
      description: 'Heartbeat service: agents report, on-call reads',
      // Our stage below carries the throttling and the access logs.
      createDefaultStage: false,
      defaultIntegration: read,
    });
    const operate = new HttpLambdaIntegration('Operate', props.operate.function, {
      payloadFormatVersion: apigw.PayloadFormatVersion.VERSION_2_0,
    });
    const operator = new HttpIamAuthorizer();
    this.httpApi.addRoutes({ path: '/v1/heartbeats', methods: [apigw.HttpMethod.ANY], integration: ingest });
    this.httpApi.addRoutes({
      path: '/v1/agents/{agentId}',
      methods: [apigw.HttpMethod.ANY],
      integration: read,
      authorizer: operator,
    });
    // A route for one method wins over the path's ANY: deregistration goes to the operate function.
    this.httpApi.addRoutes({
      path: '/v1/agents/{agentId}',
      methods: [apigw.HttpMethod.DELETE],
      integration: operate,
      authorizer: operator,
    });
    this.httpApi.addRoutes({
      path: '/v1/agents',
      methods: [apigw.HttpMethod.ANY],
      integration: read,
      authorizer: operator,
    });
    // Maintenance windows: POST and GET the collection, DELETE one (ends it early); other methods
    // reach the function too, for its problem+json 405.
    for (const path of ['/v1/maintenance', '/v1/maintenance/{id}']) {
      this.httpApi.addRoutes({
        path,
        methods: [apigw.HttpMethod.ANY],
        integration: operate,
        authorizer: operator,
      });
    }

    this.operatorPolicy = new iam.ManagedPolicy(this, 'OperatorPolicy', {
      description: `Read and operate the ${Stack.of(this).stackName} heartbeat service (GET and DELETE /v1/agents..., maintenance windows /v1/maintenance...)`,
      statements: [
        new iam.PolicyStatement({
          actions: ['execute-api:Invoke'],
          resources: [
            this.httpApi.arnForExecuteApi('*', '/v1/agents', '*'),
            this.httpApi.arnForExecuteApi('*', '/v1/agents/*', '*'),
            this.httpApi.arnForExecuteApi('*', '/v1/maintenance', '*'),
            this.httpApi.arnForExecuteApi('*', '/v1/maintenance/*', '*'),
          ],
        }),
      ],
    });
    const api = nagRef(this.httpApi.node.defaultChild as CfnElement);
    const operatorRoutes: Record<string, string> = {
      '/v1/agents':
        'The agent list of this one API (GET /v1/agents?state=), any stage and method it serves: never the heartbeat route.',
      '/v1/agents/*':
        'One agent of this one API, any agent id ({agentId}: GET reads it, DELETE deregisters it), any stage and method: never the heartbeat route.',
      '/v1/maintenance':
        'The maintenance-window collection of this one API (POST opens a window, GET lists them), any stage and method it serves: never the heartbeat route.',
      '/v1/maintenance/*':
        'One maintenance window of this one API, any window id ({id}: DELETE ends it early), any stage and method it serves: never the heartbeat route.',
    };
    for (const [path, reason] of Object.entries(operatorRoutes)) {
      acknowledge(
        this.operatorPolicy,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:${api}/*/*${path}]`,
        reason,
      );
    }

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: props.logRetention });
    this.stage = new apigw.HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.throttle.rateLimit, burstLimit: props.throttle.burstLimit },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });

    acknowledge(
      this.httpApi,
      'AwsSolutions-APIG4',
      'The read and operator routes use IAM authorization. The heartbeat route: agents authenticate with a bearer token that the ingest function checks (constant-time compare against the rotation-friendly token secret); an authorizer would add a Lambda hop to every heartbeat and answer 401 without problem+json. The $default route only answers 404.',
    );
  }

  /** The base URL agents post to (`<url>v1/heartbeats`). */
  get url(): string {
    return this.stage.url;
  }
}
