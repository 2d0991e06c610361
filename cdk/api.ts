import { Stack } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { HeartbeatFunction } from './heartbeat-function.js';
import { acknowledge } from './nag.js';

/** Route keys, as API Gateway puts them in `event.routeKey` and in the access log. */
export const ROUTES = {
  heartbeats: 'ANY /v1/heartbeats',
  agent: 'ANY /v1/agents/{agentId}',
  agents: 'ANY /v1/agents',
  default: '$default',
} as const;

export interface HeartbeatApiProps {
  ingest: HeartbeatFunction;
  read: HeartbeatFunction;
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
 * The HTTP API: payload format 2.0 to the ingest and read functions. ANY on each path, so a
 * wrong method reaches the handler and gets a problem+json 405 with `Allow`, and the `$default`
 * route sends unknown paths to the read function for a problem+json 404 instead of API
 * Gateway's bare `{"message":"Not Found"}`.
 *
 * There is no API Gateway authorizer: agents send a bearer token that the functions compare in
 * constant time against the token secret, so a rotation needs no redeploy and a 401 is a
 * problem+json like every other error.
 */
export class HeartbeatApi extends Construct {
  readonly httpApi: apigw.HttpApi;
  readonly stage: apigw.HttpStage;
  readonly accessLogs: logs.LogGroup;

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
    this.httpApi.addRoutes({ path: '/v1/heartbeats', methods: [apigw.HttpMethod.ANY], integration: ingest });
    this.httpApi.addRoutes({
      path: '/v1/agents/{agentId}',
      methods: [apigw.HttpMethod.ANY],
      integration: read,
    });
    this.httpApi.addRoutes({ path: '/v1/agents', methods: [apigw.HttpMethod.ANY], integration: read });

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
      'Agents authenticate with a bearer token that the functions check (constant-time compare against the rotation-friendly token secret); an authorizer would add a Lambda hop to every heartbeat and answer 401 without problem+json.',
    );
  }

  /** The base URL agents post to (`<url>v1/heartbeats`). */
  get url(): string {
    return this.stage.url;
  }
}
